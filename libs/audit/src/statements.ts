import type Database from 'better-sqlite3';
import type { Db } from './database';

const cache = new WeakMap<Db, Map<string, Database.Statement>>();

/**
 * The prepared statement for `sql` on `db`, compiled once per connection:
 * preparing costs more than running the small queries a request makes.
 * Not for statements that are iterated (an iterating statement is busy
 * until its cursor ends) or switched to raw/pluck mode.
 */
export function statement(db: Db, sql: string): Database.Statement {
  let byDb = cache.get(db);
  if (!byDb) cache.set(db, (byDb = new Map()));
  let s = byDb.get(sql);
  if (!s) byDb.set(sql, (s = db.prepare(sql)));
  return s;
}
