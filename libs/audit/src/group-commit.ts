import type { Db } from './database';

/**
 * Commits writes that arrive in the same turn of the event loop together:
 * one transaction, so one fsync under synchronous=FULL, for a burst of
 * worker reports instead of one each. Each write runs in its own savepoint,
 * so one that throws is undone alone and handed to onError; if the commit
 * itself fails (a full disk), none of the burst landed and each is reported.
 * Meant for writes nobody is waiting on (queue reports that can be replayed),
 * not for answers to a request.
 */
export class GroupCommit {
  private pending: (() => void)[] = [];
  private scheduled = false;

  constructor(
    private readonly db: Db,
    private readonly onError: (e: unknown) => void,
    private readonly maxBatch = 256,
  ) {}

  /** Queues a write; it lands with the others queued before the event loop turns. */
  run(write: () => void): void {
    this.pending.push(write);
    if (this.pending.length >= this.maxBatch) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Commits what is queued now (also called before the database closes). */
  flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (!batch.length) return;
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
