import type Database from 'better-sqlite3';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { AirlockError } from '@airlock/common';
import { SqliteDatabase } from './sqlite-driver';

export type Db = Database.Database;

/** The folder of forward-only SQL migrations shipped with airlock (found upwards from here, source or dist). */
export const MIGRATIONS_DIR = (() => {
  let d = __dirname;
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(d, 'migrations')) && existsSync(join(d, 'package.json'))) return join(d, 'migrations');
    d = dirname(d);
  }
  return resolve(__dirname, '..', '..', '..', 'migrations');
})();

/**
 * Opens (creating if needed) the SQLite file of record: WAL, synchronous=FULL,
 * foreign keys on, a busy timeout so a second writer (the CLI) waits rather
 * than fails.
 */
export function openDatabase(path: string, opts: { readonly?: boolean } = {}): Db {
  if (path !== ':memory:') mkdirSync(dirname(resolve(path)), { recursive: true });
  let db: Db;
  try {
    db = new SqliteDatabase(path, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
  } catch (e) {
    throw new AirlockError('DATABASE_UNAVAILABLE', `cannot open database ${path}: ${(e as Error).message}`);
  }
  db.pragma('busy_timeout = 10000');
  if (!opts.readonly) {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
  }
  db.pragma('foreign_keys = ON');
  return db;
}

/**
 * Applies `NNN_name.sql` files in order, each in its own transaction, and
 * records them in `schema_migrations`. Forward only: a recorded migration is
 * never re-run; a file whose number is already recorded under another name
 * stops the boot.
 */
export function migrate(db: Db, dir = MIGRATIONS_DIR): { applied: string[] } {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
  const done = new Map<number, string>(
    (db.prepare('SELECT version, name FROM schema_migrations').all() as { version: number; name: string }[]).map((r) => [
      r.version,
      r.name,
    ]),
  );
  const files = readdirSync(dir)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
    .sort();
  const applied: string[] = [];
  for (const f of files) {
    const version = Number(f.slice(0, 3));
    const known = done.get(version);
    if (known) {
      if (known !== f)
        throw new AirlockError('DATABASE_UNAVAILABLE', `migration ${version} was applied as ${known} but the file is now ${f}`);
      continue;
    }
    const sql = readFileSync(join(dir, f), 'utf8');
    db.transaction(() => {
      db.exec(sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(version, f, new Date().toISOString());
    }).immediate();
    applied.push(f);
  }
  return { applied };
}
