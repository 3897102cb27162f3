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
  return cached(db, sql, () => db.prepare(sql));
}

/**
 * statement() in raw mode: each row an array in column order. better-sqlite3
 * builds row objects one property at a time in native code, which for a wide
 * table costs twice the query; a caller that maps arrays to objects of one
 * literal shape pays half, and gets objects V8 keeps in fast mode.
 */
export function rawStatement(db: Db, sql: string): Database.Statement {
  return cached(db, `raw\0${sql}`, () => db.prepare(sql).raw(true));
}

function cached(db: Db, key: string, prepare: () => Database.Statement): Database.Statement {
  let byDb = cache.get(db);
  if (!byDb) cache.set(db, (byDb = new Map<string, Database.Statement>()));
  let s = byDb.get(key);
  if (!s) byDb.set(key, (s = prepare()));
  return s;
}

/** Throws when the database cannot answer a query (readiness). */
export function checkDatabase(db: Db): void {
  statement(db, 'SELECT 1').get();
}
