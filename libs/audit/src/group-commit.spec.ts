import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Db, migrate, openDatabase } from './database';
import { AuditLog } from './audit-log';
import { GroupCommit } from './group-commit';
import { verifyStoredChain } from './chain-verifier';
import { statement } from './statements';

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
    gc.run(() => audit.append({ actor: 't', action: 'one' }));
    gc.run(() => {
      audit.append({ actor: 't', action: 'undone' });
      throw new Error('refused');
    });
    gc.run(() => audit.append({ actor: 't', action: 'two' }));
    expect((statement(db, 'SELECT COUNT(*) AS n FROM audit_events').get() as { n: number }).n).toBe(before);
    db.transaction = ((f: never) => (commits++, origin(f))) as typeof db.transaction;
    await new Promise((r) => setImmediate(r));
    const actions = (db.prepare('SELECT action FROM audit_events WHERE actor = ? ORDER BY seq').all('t') as { action: string }[]).map((r) => r.action);
    expect(actions).toEqual(['one', 'two']);
    expect(errors.map((e) => (e as Error).message)).toEqual(['refused']);
    expect(verifyStoredChain(db).report.ok).toBe(true);
    // the outer transaction plus one savepoint per write
    expect(commits).toBe(4);
  });

  it('flush() commits at once and a full batch does not wait for the turn', () => {
    const audit = new AuditLog(db);
    const gc = new GroupCommit(db, () => undefined, 2);
    gc.run(() => audit.append({ actor: 't', action: 'a' }));
    gc.run(() => audit.append({ actor: 't', action: 'b' }));
    gc.run(() => audit.append({ actor: 't', action: 'c' }));
    expect((db.prepare("SELECT COUNT(*) AS n FROM audit_events WHERE actor = 't'").get() as { n: number }).n).toBe(2);
    gc.flush();
    expect((db.prepare("SELECT COUNT(*) AS n FROM audit_events WHERE actor = 't'").get() as { n: number }).n).toBe(3);
  });
});
