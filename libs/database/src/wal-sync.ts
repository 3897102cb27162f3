import { closeSync, fsync, openSync } from 'node:fs';

/**
 * fsync of a database's write-ahead log on libuv's thread pool, shared: every
 * caller waits for one fsync that started after it asked, and callers that
 * ask while one runs share the next. With commits made at
 * `synchronous=NORMAL` (the log written, not synced), this makes them as
 * durable as `synchronous=FULL` by the time the promise resolves, without
 * the event loop stopping for the disk.
 */
export class WalSync {
  private fd?: number;
  private running?: Promise<void>;
  private queued?: Promise<void>;

  constructor(private readonly walPath: string) {}

  /** Resolves once everything written to the log before this call is on disk. */
  sync(): Promise<void> {
    if (this.queued) return this.queued;
    if (!this.running) return (this.running = this.start());
    this.queued = this.running
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return (this.running = this.start());
      });
    return this.queued;
  }

  /** Waits for the fsyncs asked for, then lets the log file go. */
  async close(): Promise<void> {
    await (this.queued ?? this.running)?.catch(() => undefined);
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private start(): Promise<void> {
    const p: Promise<void> = new Promise<void>((resolve, reject) => {
      // the log exists once the first commit wrote it; it is removed only when the last connection closes
      this.fd ??= openSync(this.walPath, 'r');
      fsync(this.fd, (e) => (e ? reject(e) : resolve()));
    }).finally(() => {
      if (this.running === p) this.running = undefined;
    });
    return p;
  }
}
