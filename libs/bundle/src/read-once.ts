import { close, open, read } from 'node:fs';
import { Readable } from 'node:stream';
import { dropPages } from './page-cache';

const CHUNK = 1 << 20;
const DROP_EVERY = 8 << 20;
const FOLIO = 2 << 20;

/**
 * The bytes [start, end) of a file, read once in 1 MiB pieces, their pages
 * dropped from the page cache behind the reader every 8 MiB and at the end
 * (page-cache.ts): an import reads each byte of a volume once, and the
 * registry it pushes to writes as many. Kept, a 4 GiB bundle's pages push
 * out what the machine caches for everything else. On a machine whose free
 * memory goes back to its hypervisor (this one: free page reporting) every
 * page the registry writes into fresh memory must first be fetched from the
 * host, 2-4 s of CPU per GiB; when the volumes were in the page cache (just
 * uploaded or written), the pages dropped are what the registry's writes
 * take instead (from cold media it made no difference above the noise). A
 * file shorter than `end` ends the stream early, as fs.createReadStream
 * does: the entry's size check refuses it.
 */
export class ReadOnce extends Readable {
  private fd = -1;
  private at: number;
  private dropped: number;
  /** The read and the drops under way: the descriptor closes once they are done. */
  private reading: Promise<unknown> = Promise.resolve();
  private dropping: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly path: string,
    start: number,
    private readonly end: number,
  ) {
    super({ highWaterMark: CHUNK });
    this.at = this.dropped = start;
  }

  override _construct(done: (err?: Error | null) => void): void {
    open(this.path, 'r', (err, fd) => {
      if (err) return done(err);
      this.fd = fd;
      done();
    });
  }

  override _read(): void {
    const n = Math.min(CHUNK, this.end - this.at);
    if (n <= 0) {
      this.push(null);
      return;
    }
    const b = Buffer.allocUnsafe(n);
    this.reading = new Promise<void>((settled) =>
      read(this.fd, b, 0, n, this.at, (err, got) => {
        settled();
        if (this.destroyed) return;
        if (err) return this.destroy(err);
        if (got === 0) {
          this.dropBehind();
          return this.push(null);
        }
        this.at += got;
        if (this.at === this.end || this.at - this.dropped >= DROP_EVERY) this.dropBehind();
        this.push(got < n ? b.subarray(0, got) : b);
      }),
    );
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    if (this.fd < 0) return done(err);
    this.dropBehind();
    const fd = this.fd;
    this.fd = -1;
    void Promise.all([this.reading, this.dropping]).then(() => close(fd, () => done(err)));
  }

  /**
   * From the 2 MiB boundary at or before `dropped`: the kernel drops only the
   * folios wholly inside a range, and a folio of the page cache is up to
   * 2 MiB, aligned to its size; so a range that began inside one would keep
   * it. Bytes before `dropped` were read already, or belong to an entry
   * before this one, read once too.
   */
  private dropBehind(): void {
    const from = this.dropped - (this.dropped % FOLIO);
    const drop = dropPages(this.fd, from, this.at - from).catch(() => false);
    this.dropping = Promise.all([this.dropping, drop]);
    this.dropped = this.at;
  }
}
