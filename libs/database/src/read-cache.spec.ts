import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Db, openDatabase } from './database';
import { ReadCache, changeMark } from './read-cache';

describe('read cache', () => {
  let dir: string;
  let db: Db;
  let other: Db;
  let computed: number;
  /** Every row of t, counting how often it was really read. */
  const rows = () => {
    computed++;
    return { xs: (db.prepare('SELECT x FROM t ORDER BY x').all() as { x: number }[]).map((r) => r.x) };
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'airlock-rc-'));
    db = openDatabase(join(dir, 'a.db'));
    db.exec('CREATE TABLE t (x INTEGER)');
    other = openDatabase(join(dir, 'a.db'));
    computed = 0;
  });
  afterEach(() => {
    other.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers from the cache until this connection or another one changes a row', () => {
    const cache = new ReadCache(db);
    const first = cache.read('all', rows);
    expect(cache.read('all', rows)).toBe(first);
    expect(computed).toBe(1);

    db.prepare('INSERT INTO t VALUES (1)').run();
    expect(cache.read('all', rows)).toEqual({ xs: [1] });
    expect(computed).toBe(2);

    other.prepare('INSERT INTO t VALUES (2)').run();
    expect(cache.read('all', rows)).toEqual({ xs: [1, 2] });
    expect(computed).toBe(3);

    // an update that leaves the row count as it was still moves the mark
    const before = changeMark(db);
    other.prepare('UPDATE t SET x = 3 WHERE x = 2').run();
    expect(changeMark(db)).not.toBe(before);
    expect(cache.read('all', rows)).toEqual({ xs: [1, 3] });
  });

  it('never caches inside a transaction, so a read of rolled-back rows is not served afterwards', () => {
    const cache = new ReadCache(db);
    expect(cache.read('all', rows)).toEqual({ xs: [] });
    expect(() =>
      db.transaction(() => {
        db.prepare('INSERT INTO t VALUES (9)').run();
        expect(cache.read('all', rows)).toEqual({ xs: [9] });
        throw new Error('roll back');
      })(),
    ).toThrow('roll back');
    expect(cache.read('all', rows)).toEqual({ xs: [] });
    expect(computed).toBe(3);
  });

  it('shares frozen answers, keeps at most max of them and drops the least recently used', () => {
    const cache = new ReadCache(db, 2);
    const a = cache.read('a', rows);
    expect(() => a.xs.push(1)).toThrow(/not extensible/);
    cache.read('b', rows);
    cache.read('a', rows);
    cache.read('c', rows); // drops b, read longest ago
    expect(computed).toBe(3);
    cache.read('a', rows);
    cache.read('c', rows);
    expect(computed).toBe(3);
    cache.read('b', rows);
    expect(computed).toBe(4);
  });

  it('keeps nothing when computing throws', () => {
    const cache = new ReadCache(db);
    expect(() =>
      cache.read('x', () => {
        throw new Error('no such promotion');
      }),
    ).toThrow('no such promotion');
    expect(cache.read('x', rows)).toEqual({ xs: [] });
  });
});
