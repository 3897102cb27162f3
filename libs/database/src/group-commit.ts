import { performance } from 'node:perf_hooks';
import type { Db } from './database';
import { WalSync } from './wal-sync';

/** A queued write and, for one somebody waits on, how to tell them. */
interface Pending {
  write: () => unknown;
  settle?: (error: unknown, value?: unknown) => void;
}

/**
 * Commits queued writes together: one transaction, so one fsync, for a burst
 * of worker reports and answers instead of one each. A write queued while
 * the database is idle lands on the next turn of the event loop; while
 * commits follow each other, the next one waits until `minIntervalMs` after
 * the last, gathering what arrives meanwhile. Each write runs in its own
 * savepoint, so one that throws is undone alone; if the commit itself fails
 * (a full disk), none of the batch landed.
 *
 * On a database file, the batch commits at `synchronous=NORMAL` (the log is
 * written, not synced) and the log is then synced on the thread pool
 * (WalSync): those waiting on a write (commit()) hear of it only after that
 * fsync, so what they were told happened is as durable as at
 * `synchronous=FULL`, while the event loop, and every request on it, goes on.
 * Other transactions on the connection stay at FULL.
 *
 * A scheduled commit writes for at most `sliceMs` (and `maxBatch` writes),
 * then leaves the rest for the next turn of the event loop: a long queue of
 * writes (a burst of worker reports) is committed in slices with the
 * requests that arrived meanwhile answered between them, instead of holding
 * every answer behind one long transaction.
 */
export class GroupCommit {
  private pending: Pending[] = [];
  private scheduled?: { immediate: NodeJS.Immediate } | { timeout: NodeJS.Timeout };
  private lastCommit = -Infinity;
  private readonly wal?: WalSync;
  private syncing = new Set<Promise<void>>();

  constructor(
    private readonly db: Db,
    private readonly onError: (e: unknown) => void,
    private readonly maxBatch = 256,
    private readonly minIntervalMs = 0,
    private readonly sliceMs = Infinity,
  ) {
    if (!db.memory) this.wal = new WalSync(`${db.name}-wal`);
  }

  /** Queues a write nobody waits on (a report that can be replayed); what it throws goes to onError. */
  run(write: () => void): void {
    this.queue({ write });
  }

  /** Queues a write and resolves with what it returned once it is committed and durable (rejects with what it threw, or with the commit's failure). */
  commit<T>(write: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) =>
      this.queue({ write, settle: (e, v) => (e === undefined ? resolve(v as T) : reject(e as Error)) }),
    );
  }

  private queue(p: Pending): void {
    this.pending.push(p);
    if (this.pending.length >= this.maxBatch) this.schedule(0);
    else if (!this.scheduled) this.schedule(this.lastCommit + this.minIntervalMs - performance.now());
  }

  /** The next commit after `wait` ms, or on the next turn (a full batch does not wait out the interval). */
  private schedule(wait: number): void {
    if (this.scheduled && 'immediate' in this.scheduled) return;
    this.unschedule();
    this.scheduled = wait > 0 ? { timeout: setTimeout(() => this.turn(), wait) } : { immediate: setImmediate(() => this.turn()) };
  }

  private unschedule(): void {
    if (!this.scheduled) return;
    if ('timeout' in this.scheduled) clearTimeout(this.scheduled.timeout);
    else clearImmediate(this.scheduled.immediate);
    this.scheduled = undefined;
  }

  /** A scheduled commit: one slice, and the rest on the next turn. */
  private turn(): void {
    this.scheduled = undefined;
    this.commitSlice(this.sliceMs);
    if (this.pending.length) this.schedule(0);
  }

  /** Commits everything queued now (also called before the database closes: then await settled()). */
  flush(): void {
    this.unschedule();
    while (this.pending.length) this.commitSlice(Infinity);
  }

  /** Commits the writes at the head of the queue in one transaction: at least one, then more while within `budgetMs` and `maxBatch`. */
  private commitSlice(budgetMs: number): void {
    const queued = this.pending;
    this.pending = [];
    if (!queued.length) return;
    const started = performance.now();
    this.lastCommit = started;
    const outcomes: { error?: unknown; value?: unknown }[] = [];
    const wal = this.db.inTransaction ? undefined : this.wal;
    let taken = 0;
    let failed: { error: unknown } | undefined;
    try {
      if (wal) this.db.pragma('synchronous = NORMAL');
      this.db
        .transaction(() => {
          for (const p of queued) {
            if (taken >= this.maxBatch || (taken > 0 && performance.now() - started >= budgetMs)) break;
            taken++;
            try {
              outcomes.push({ value: this.db.transaction(p.write)() });
            } catch (e) {
              outcomes.push({ error: e });
            }
          }
        })
        .immediate();
    } catch (e) {
      failed = { error: e };
    } finally {
      if (wal) this.db.pragma('synchronous = FULL');
    }
    // what was not reached goes back to the head of the queue, before anything queued by the writes themselves
    const batch = queued.slice(0, Math.max(taken, 1));
    this.pending = queued.slice(batch.length).concat(this.pending);
    if (failed) {
      for (const p of batch) {
        if (p.settle) p.settle(failed.error);
        else this.onError(failed.error);
      }
      return;
    }
    for (const [i, p] of batch.entries()) if (!p.settle && 'error' in outcomes[i]) this.onError(outcomes[i].error);
    const tell = (syncError?: unknown) => {
      for (const [i, p] of batch.entries()) p.settle?.(syncError ?? outcomes[i].error, outcomes[i].value);
    };
    if (!wal) return tell();
    const synced = wal.sync().then(
      () => tell(),
      (e: unknown) => tell(e),
    );
    this.syncing.add(synced);
    void synced.finally(() => this.syncing.delete(synced));
  }

  /**
   * Undefined when every commit so far is durable; otherwise a promise that
   * resolves once the fsyncs in flight end. Between a batch's commit and its
   * fsync, readers on this connection already see it: an answer that may
   * show it waits for this, so nobody is shown a write a power cut could undo.
   */
  durable(): Promise<void> | undefined {
    if (!this.syncing.size) return undefined;
    return Promise.all([...this.syncing]).then(() => undefined);
  }

  /** Resolves when every commit so far is durable and its waiters told; the log file is let go. */
  async settled(): Promise<void> {
    await Promise.all([...this.syncing]);
    await this.wal?.close();
  }
}
