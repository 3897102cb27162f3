import { performance } from 'node:perf_hooks';
import type { Db } from './database';

/**
 * Commits queued writes together: one transaction, so one fsync under
 * synchronous=FULL, for a burst of worker reports instead of one each. A
 * write queued while the database is idle lands on the next turn of the event
 * loop; while commits follow each other, the next one waits until
 * `minIntervalMs` after the last, gathering what arrives meanwhile, so a
 * steady stream of reports costs at most one fsync per interval (each blocks
 * the event loop, and with it every request, for the length of the fsync).
 * Each write runs in its own savepoint, so one that throws is undone alone and
 * handed to onError; if the commit itself fails (a full disk), none of the
 * batch landed and each is reported. Meant for writes nobody is waiting on
 * (queue reports that can be replayed), not for answers to a request.
 */
export class GroupCommit {
  private pending: (() => void)[] = [];
  private scheduled?: { immediate: NodeJS.Immediate } | { timeout: NodeJS.Timeout };
  private lastCommit = -Infinity;

  constructor(
    private readonly db: Db,
    private readonly onError: (e: unknown) => void,
    private readonly maxBatch = 256,
    private readonly minIntervalMs = 0,
  ) {}

  /** Queues a write; it lands with the others queued before the commit. */
  run(write: () => void): void {
    this.pending.push(write);
    if (this.pending.length >= this.maxBatch) this.flush();
    else if (!this.scheduled) {
      const wait = this.lastCommit + this.minIntervalMs - performance.now();
      this.scheduled = wait > 0 ? { timeout: setTimeout(() => this.flush(), wait) } : { immediate: setImmediate(() => this.flush()) };
    }
  }

  /** Commits what is queued now (also called before the database closes). */
  flush(): void {
    if (this.scheduled) {
      if ('timeout' in this.scheduled) clearTimeout(this.scheduled.timeout);
      else clearImmediate(this.scheduled.immediate);
      this.scheduled = undefined;
    }
    const batch = this.pending;
    this.pending = [];
    if (!batch.length) return;
    this.lastCommit = performance.now();
    try {
      this.db
        .transaction(() => {
          for (const write of batch) {
            try {
              this.db.transaction(write)();
            } catch (e) {
              this.onError(e);
            }
          }
        })
        .immediate();
    } catch (e) {
      this.onError(e);
    }
  }
}
