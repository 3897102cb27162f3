import type { Db } from './database';
import { rawStatement } from './statements';

/**
 * What the database holds, as this connection sees it, in one value that
 * moves whenever that can have changed: `total_changes()` counts every row
 * this connection inserted, updated or deleted (trigger programs included),
 * `data_version` moves when another connection (the worker, `airlock audit`)
 * commits. Equal marks mean equal contents; a write that is rolled back still
 * moves it (a needless recomputation, never a stale answer).
 */
export function changeMark(db: Db): string {
  const [changes, version] = rawStatement(db, 'SELECT total_changes(), data_version FROM pragma_data_version').get() as [number, number];
  return `${changes}:${version}`;
}

/** Every answer a ReadCache handed out (deeply frozen: unchangeable for as long as anything holds it). */
const shared = new WeakSet<object>();

/** Whether `v` is an answer from a ReadCache: deeply frozen, so what is derived from it (its JSON) can be kept beside it. */
export function isSharedAnswer(v: unknown): v is object {
  return typeof v === 'object' && v !== null && shared.has(v);
}

/** Freezes a value and everything it holds, so that a caller that would change a shared answer throws instead. */
function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

/**
 * Answers to read queries, kept while the database has not changed: a page
 * that a hundred clients poll is computed once per change instead of once per
 * request (the API commits writes in groups at most every 20 ms, so under
 * load most polls land between two commits). Checking costs one query of a
 * few microseconds; computing a page of promotions costs hundreds.
 *
 * Answers are frozen (they are shared by every caller until the next change)
 * and at most `max` are kept, the least recently used dropped first. Inside a
 * transaction nothing is cached or served from the cache: what a transaction
 * reads may yet be rolled back.
 */
export class ReadCache {
  private readonly answers = new Map<string, { mark: string; value: unknown }>();

  constructor(
    private readonly db: Db,
    private readonly max = 256,
  ) {}

  read<T>(key: string, compute: () => T): T {
    if (this.db.inTransaction) return compute();
    const mark = changeMark(this.db);
    const hit = this.answers.get(key);
    this.answers.delete(key);
    if (hit && hit.mark === mark) {
      this.answers.set(key, hit);
      return hit.value as T;
    }
    const value = deepFreeze(compute());
    if (typeof value === 'object' && value !== null) shared.add(value);
    this.answers.set(key, { mark, value });
    if (this.answers.size > this.max) this.answers.delete(this.answers.keys().next().value as string);
    return value;
  }
}
