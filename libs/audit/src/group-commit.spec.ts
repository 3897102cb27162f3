import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Db, GroupCommit, WalSync, migrate, openDatabase, statement } from '@airlock/database';
import { AuditLog } from './audit-log';
import type { AuditAction } from './audit-actions';

/** Tests of the store's mechanics tag events with labels of their own, not the catalogue's actions. */
const label = (s: string) => s as AuditAction;
import { verifyStoredChain } from './chain-verifier';

describe('group commit', () => {
  let dir: string;
  let db: Db;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'airlock-gc-'));
    db = openDatabase(join(dir, 'a.db'));
    migrate(db);
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lands a burst in one transaction on the next turn, undoing only the write that threw', async () => {
    const audit = new AuditLog(db);
    const errors: unknown[] = [];
    const gc = new GroupCommit(db, (e) => errors.push(e));
    let commits = 0;
    const origin = db.transaction.bind(db);
    const before = (statement(db, 'SELECT COUNT(*) AS n FROM audit_events').get() as { n: number }).n;
    gc.run(() => audit.append({ actor: 't', action: label('one') }));
    gc.run(() => {
      audit.append({ actor: 't', action: label('undone') });
      throw new Error('refused');
    });
    gc.run(() => audit.append({ actor: 't', action: label('two') }));
    expect((statement(db, 'SELECT COUNT(*) AS n FROM audit_events').get() as { n: number }).n).toBe(before);
    db.transaction = ((f: never) => (commits++, origin(f))) as typeof db.transaction;
    await new Promise((r) => setImmediate(r));
    const actions = (db.prepare('SELECT action FROM audit_events WHERE actor = ? ORDER BY seq').all('t') as { action: string }[]).map(
      (r) => r.action,
    );
    expect(actions).toEqual(['one', 'two']);
    expect(errors.map((e) => (e as Error).message)).toEqual(['refused']);
    expect(verifyStoredChain(db).report.ok).toBe(true);
    // the outer transaction plus one savepoint per write
    expect(commits).toBe(4);
  });

  it('flush() commits at once; a full batch does not wait out the interval, and lands at most maxBatch writes a turn', async () => {
    const audit = new AuditLog(db);
    const gc = new GroupCommit(db, () => undefined, 2, 60_000);
    const count = () => (db.prepare("SELECT COUNT(*) AS n FROM audit_events WHERE actor = 't'").get() as { n: number }).n;
    gc.run(() => audit.append({ actor: 't', action: label('first') }));
    await new Promise((r) => setImmediate(r));
    expect(count()).toBe(1); // idle: the next turn; the next commit would wait a minute
    for (const a of ['a', 'b', 'c']) gc.run(() => audit.append({ actor: 't', action: label(a) }));
    expect(count()).toBe(1);
    await new Promise((r) => setImmediate(r));
    expect(count()).toBe(3); // full: the next turn, two of them
    gc.run(() => audit.append({ actor: 't', action: label('d') }));
    gc.flush();
    expect(count()).toBe(5);
    expect(verifyStoredChain(db).report.ok).toBe(true);
  });

  it('commits a long queue in slices of sliceMs, each its own transaction, in the order asked', async () => {
    const audit = new AuditLog(db);
    const gc = new GroupCommit(db, () => undefined, 256, 0, 0);
    const count = () => (db.prepare("SELECT COUNT(*) AS n FROM audit_events WHERE actor = 't'").get() as { n: number }).n;
    const answers = ['a', 'b', 'c'].map((a) => gc.commit(() => audit.append({ actor: 't', action: label(a) }).seq));
    const turns: number[] = [];
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setImmediate(r));
      turns.push(count());
    }
    // a budget of 0 ms takes one write a slice: a turn of the event loop (where requests are answered) between slices
    expect(turns).toEqual([1, 2, 3]);
    const seqs = await Promise.all(answers);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y)); // in the order they were asked
    expect(verifyStoredChain(db).report.ok).toBe(true);
  });

  it('waits out the minimum interval after a commit, gathering what arrives meanwhile into one commit', async () => {
    const audit = new AuditLog(db);
    const gc = new GroupCommit(db, () => undefined, 256, 50);
    const count = () => (db.prepare("SELECT COUNT(*) AS n FROM audit_events WHERE actor = 't'").get() as { n: number }).n;
    gc.run(() => audit.append({ actor: 't', action: label('first') }));
    await new Promise((r) => setImmediate(r));
    expect(count()).toBe(1); // idle: lands on the next turn
    let commits = 0;
    const origin = db.transaction.bind(db);
    db.transaction = ((f: never) => (commits++, origin(f))) as typeof db.transaction;
    for (const a of ['x', 'y', 'z']) {
      gc.run(() => audit.append({ actor: 't', action: label(a) }));
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(count()).toBe(1); // within 50 ms of the last commit: still waiting
    await new Promise((r) => setTimeout(r, 60));
    expect(count()).toBe(4);
    expect(commits).toBe(4); // one outer transaction and three savepoints
    gc.run(() => audit.append({ actor: 't', action: label('closing') }));
    gc.flush(); // before the database closes: at once, and the pending timer is gone
    expect(count()).toBe(5);
    expect(verifyStoredChain(db).report.ok).toBe(true);
  });

  it('answers a waiting write only once its batch is committed and the log synced, and a refused one alone', async () => {
    const audit = new AuditLog(db);
    const gc = new GroupCommit(db, () => undefined);
    // the fsync is held until the test lets it go: nobody may hear of their write before
    let release!: () => void;
    const synced: Promise<void>[] = [];
    const spy = jest.spyOn(WalSync.prototype, 'sync').mockImplementation(() => {
      const p = new Promise<void>((r) => (release = r));
      synced.push(p);
      return p;
    });
    try {
      const seen = () => (statement(db, "SELECT COUNT(*) AS n FROM audit_events WHERE actor = 'w'").get() as { n: number }).n;
      const one = gc.commit(() => audit.append({ actor: 'w', action: label('one') }).seq);
      const refused = gc.commit(() => {
        audit.append({ actor: 'w', action: label('undone') });
        throw new Error('refused');
      });
      const two = gc.commit(() => audit.append({ actor: 'w', action: label('two') }).seq);
      expect(seen()).toBe(0);
      let told = false;
      void Promise.allSettled([one, refused, two]).then(() => (told = true));
      await new Promise((r) => setTimeout(r, 20));
      expect(seen()).toBe(2); // committed...
      expect(told).toBe(false); // ...but not yet durable: nobody told
      // and an answer that may show it is held until the fsync ends
      const durable = gc.durable();
      expect(durable).toBeInstanceOf(Promise);
      let shown = false;
      void durable?.then(() => (shown = true));
      await new Promise((r) => setTimeout(r, 10));
      expect(shown).toBe(false);
      release();
      const [a, b, c] = await Promise.allSettled([one, refused, two]);
      expect(a).toMatchObject({ status: 'fulfilled' });
      expect(b).toMatchObject({ status: 'rejected', reason: { message: 'refused' } });
      expect(c).toMatchObject({ status: 'fulfilled' });
      expect(seen()).toBe(2);
      await durable;
      expect([shown, gc.durable()]).toEqual([true, undefined]);
      // one fsync for the three, and the connection back at FULL for every other transaction
      expect(synced).toHaveLength(1);
      expect(db.pragma('synchronous', { simple: true })).toBe(2);
      // what it said it committed is there for another connection
      const other = openDatabase(join(dir, 'a.db'), { readonly: true });
      expect((other.prepare("SELECT COUNT(*) AS n FROM audit_events WHERE actor = 'w'").get() as { n: number }).n).toBe(2);
      other.close();
    } finally {
      spy.mockRestore();
    }
    await gc.settled();
  });

  it('shares one fsync among those who ask while another runs', async () => {
    db.exec("CREATE TABLE IF NOT EXISTS t (x); INSERT INTO t VALUES ('wal exists')");
    const wal = new WalSync(join(dir, 'a.db-wal'));
    const first = wal.sync();
    const second = wal.sync();
    const third = wal.sync();
    expect(second).toBe(third);
    expect(second).not.toBe(first);
    await Promise.all([first, second, third]);
    await wal.close();
  });
});
