import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { AuditLog } from './audit-log';
import type { AuditAction } from './audit-actions';

/** Tests of the store's mechanics tag events with labels of their own, not the catalogue's actions. */
const label = (s: string) => s as AuditAction;
import { Db, migrate, openDatabase } from '@airlock/database';
import { verifyStoredChain } from './chain-verifier';
import { verifyStoredChainInParallel } from './chain-threads';
import { createCheckpoint, listCheckpoints, verifyCheckpoint } from './checkpoints';
import { queryEvents } from './audit-query';
import { exportEvents } from './audit-export';
import { verifyAudit, verifyExport } from './audit-verify';

async function key() {
  const { privateKey } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'ed25519Legacy',
    userIDs: [{ name: 'audit' }],
    format: 'object',
    config: { v6Keys: false },
  });
  return privateKey;
}

async function* lines(chunks: AsyncIterable<string>): AsyncGenerator<string> {
  let buf = '';
  for await (const c of chunks) {
    buf += c;
    const parts = buf.split('\n');
    buf = parts.pop() as string;
    yield* parts;
  }
  if (buf) yield buf;
}

describe('audit log', () => {
  let dir: string;
  let db: Db;
  let log: AuditLog;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'airlock-audit-'));
    db = openDatabase(join(dir, 'a.db'));
    migrate(db);
    log = new AuditLog(db);
    for (let i = 1; i <= 20; i++)
      log.append({
        actor: i % 2 ? 'alice' : 'bob',
        action: i % 3 ? 'promotion.state' : 'promotion.approved',
        stage: 'qa',
        image: `qa.example/team/app${i % 4}:1`,
        digest: 'sha256:' + String(i % 5).repeat(64),
        promotionId: undefined,
        details: { i },
      });
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('chains every event to the one before and verifies', () => {
    expect(verifyStoredChain(db).report).toEqual({ ok: true, size: 20, head: log.headInfo().head });
  });

  it('verifies events whose fields need escaping, as SQLite renders them and as the appender did', async () => {
    log.append({
      actor: 'zo\u00eb "q" \\ \t\n\u2028\u0001',
      action: label('odd'),
      image: 'r\u00e9g/\ud83d\ude00:1',
      details: { k: '\u0000\u007f' },
    });
    const one = verifyStoredChain(db).report;
    expect(one).toEqual({ ok: true, size: 21, head: log.headInfo().head });
    expect((await verifyStoredChainInParallel(db, new Set(), { threads: 3, parallelFrom: 0 })).report).toEqual(one);
  });

  it('refuses UPDATE and DELETE through triggers', () => {
    expect(() => db.prepare("UPDATE audit_events SET actor = 'mallory' WHERE seq = 3").run()).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM audit_events WHERE seq = 3').run()).toThrow(/append-only/);
  });

  it.each([
    ['altered', (d: Db) => d.prepare('UPDATE audit_events SET details = \'{"i":999}\' WHERE seq = 7').run(), 7, /altered/],
    // a field turned into a BLOB of the same bytes has no JSON rendering in SQL: the event is judged by its canonical body
    ['retyped', (d: Db) => d.prepare('UPDATE audit_events SET actor = CAST(actor AS BLOB) WHERE seq = 5').run(), 5, /altered/],
    ['deleted', (d: Db) => d.prepare('DELETE FROM audit_events WHERE seq = 9').run(), 9, /missing/],
    // with three threads the runs are 1-7, 8-13 and 14-20
    [
      'deleted at the end of a run',
      (d: Db) => d.prepare('DELETE FROM audit_events WHERE seq = 7').run(),
      7,
      /event 7 is missing \(next is 8\)/,
    ],
    [
      'deleted at the start of a run',
      (d: Db) => d.prepare('DELETE FROM audit_events WHERE seq = 8').run(),
      8,
      /event 8 is missing \(next is 9\)/,
    ],
    [
      'relinked at the start of a run',
      (d: Db) => d.prepare('UPDATE audit_events SET prev_hash = (SELECT hash FROM audit_events WHERE seq = 6) WHERE seq = 14').run(),
      14,
      /link/,
    ],
    [
      'inserted',
      (d: Db) => {
        d.prepare('DELETE FROM audit_events WHERE seq >= 12').run();
        d.prepare(
          "INSERT INTO audit_events (seq, ts, actor, action, details, prev_hash, hash) VALUES (12, '2026-01-01T00:00:00.000Z', 'mallory', 'x', '{}', 'bad', 'bad')",
        ).run();
      },
      12,
      /link/,
    ],
  ])(
    'names the first bad event when one is %s behind the service (triggers dropped), on one thread or three',
    async (_n, tamper, seq, why) => {
      db.exec('DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete;');
      tamper(db);
      const r = verifyStoredChain(db).report;
      expect(r).toMatchObject({ ok: false, firstBadSeq: seq, size: seq - 1 });
      expect((r as { reason: string }).reason).toMatch(why);
      expect((await verifyStoredChainInParallel(db, new Set(), { threads: 3, parallelFrom: 0 })).report).toEqual(r);
    },
  );

  it('verifies on several threads as on one, remembering the heads asked for', async () => {
    const one = verifyStoredChain(db, new Set([5, 13, 20]));
    const three = await verifyStoredChainInParallel(db, new Set([5, 13, 20]), { threads: 3, parallelFrom: 0 });
    expect(three).toEqual(one);
    expect([...three.remembered.keys()].sort((a, b) => a - b)).toEqual([5, 13, 20]);
  });

  it('signs checkpoints that verify against the chain, and refuses a forged one', async () => {
    const k = await key();
    const other = await key();
    const c = await createCheckpoint(db, k);
    expect(c.size).toBe(20);
    expect((await verifyCheckpoint(c.signature, [k.toPublic()])).head).toBe(log.headInfo().head);
    await expect(verifyCheckpoint(c.signature, [other.toPublic()])).rejects.toMatchObject({ code: 'CHECKPOINT_INVALID' });
    log.append({ actor: 'x', action: label('later') });
    expect((await verifyAudit(db, [k.toPublic()])).ok).toBe(true);
    // a checkpoint signed by someone else, stored behind the service's back
    const forged = await createCheckpoint(db, other);
    const r = await verifyAudit(db, [k.toPublic()]);
    expect(r.ok).toBe(false);
    expect(r.checkpoints.find((x) => x.id === forged.id)).toMatchObject({ ok: false });
    expect(listCheckpoints(db)).toHaveLength(2);
  });

  it('filters with SQL-looking values literally, and refuses unknown sort fields', () => {
    expect(queryEvents(db, { actor: "alice' OR '1'='1" }).items).toEqual([]);
    expect(queryEvents(db, { image: '%' }).items).toEqual([]);
    expect(queryEvents(db, { image: 'qa.example/team/app_' }).items).toEqual([]);
    expect(queryEvents(db, { image: 'qa.example/team/app1' }).items.length).toBe(5);
    expect(queryEvents(db, { actor: 'alice', action: 'promotion.approved' }).items.map((e) => e.seq)).toEqual([3, 9, 15]);
    expect(() => queryEvents(db, {}, { sort: 'hash; DROP TABLE audit_events' })).toThrow(expect.objectContaining({ code: 'INVALID_SORT' }));
    expect(queryEvents(db, {}, { sort: '-seq', limit: 2 }).items.map((e) => e.seq)).toEqual([20, 19]);
  });

  it('matches a repository exactly, a full reference exactly, and finds a promotion by the image its request named; an unknown action is refused', () => {
    const [P, Q] = ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222'];
    const digest = 'sha256:' + 'a'.repeat(64);
    const requested = (id: string, repo: string) =>
      log.append({
        actor: 'carol',
        action: 'promotion.requested',
        promotionId: id,
        stage: 'qa',
        image: `qa.example/${repo}:1.0`,
        digest,
        details: { requested: `dev.example/${repo}:1.0`, source: `dev.example/${repo}:1.0`, target: `qa.example/${repo}:1.0` },
      });
    requested(P, 'team/hello');
    log.append({
      actor: 'airlock',
      action: 'promotion.state',
      promotionId: P,
      stage: 'qa',
      image: 'qa.example/team/hello:1.0',
      digest,
      details: { from: 'requested', to: 'approved' },
    });
    requested(Q, 'team/hello2');
    const ids = (image: string) => queryEvents(db, { image }).items.map((e) => e.promotionId);
    expect(ids('qa.example/team/hello')).toEqual([P, P]);
    expect(ids('qa.example/team/hello:1.0')).toEqual([P, P]);
    expect(ids('dev.example/team/hello')).toEqual([P, P]);
    expect(ids('dev.example/team/hello:1.0')).toEqual([P, P]);
    expect(ids('dev.example/team/hello:2.0')).toEqual([]);
    expect(ids('qa.example/team')).toEqual([]);
    expect(queryEvents(db, { image: 'qa.example/team/app1:1' }).items.length).toBe(5);
    expect(() => queryEvents(db, { action: 'promotion.failed' })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/to=failed.*GET \/api\/v1\/audit\/actions/) }),
    );
  });

  it('pages every event exactly once while another writer appends', () => {
    const seen: number[] = [];
    let cursor: string | undefined;
    let n = 0;
    for (;;) {
      const page = queryEvents(db, {}, { limit: 3, cursor });
      seen.push(...page.items.map((e) => e.seq));
      if (n++ < 5) log.append({ actor: 'writer', action: label('concurrent') });
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => i + 1));
    expect(seen.length).toBeGreaterThanOrEqual(20);
  });

  it('round-trips an export through the offline verification, and catches an edited export', async () => {
    const k = await key();
    const c = await createCheckpoint(db, k);
    log.append({ actor: 'after', action: label('checkpoint.later') });
    const ok = await verifyExport(lines(exportEvents(db, {}, 'jsonl', 7)), c.signature, [k.toPublic()]);
    expect(ok).toEqual({ ok: true, size: 21, checkpointSize: 20 });
    async function* edited() {
      for await (const l of lines(exportEvents(db, {}, 'jsonl'))) yield l.replace('"actor":"bob"', '"actor":"eve"');
    }
    const bad = await verifyExport(edited(), c.signature, [k.toPublic()]);
    expect(bad.ok).toBe(false);
    expect(bad.reason).toMatch(/first bad event 2/);
    let csv = '';
    for await (const chunk of exportEvents(db, { actor: 'alice' }, 'csv')) csv += chunk;
    expect(csv.split('\n')[0]).toBe('seq,time,actor,role,action,promotionId,stage,image,digest,requestId,details,prevHash,hash');
    expect(csv.trim().split('\n')).toHaveLength(11);
  });
});
