import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteDatabase } from '@airlock/database';
import { request } from 'undici';
import { startPipeline, Pipeline } from '../support/pipeline';
import { pushRandomImage } from '../support/images';
import { GpgHome } from '../support/gpg';
import { airlock } from '../support/cli';

describe('audit trail: queries, export, checkpoints, offline verification (real gpg)', () => {
  let p: Pipeline;
  let id: string;
  const gpg = new GpgHome();
  let requested: string;
  beforeAll(async () => {
    p = await startPipeline([
      { name: 'dev' },
      { name: 'qa', from: [{ stage: 'dev', mapping: [{ from: '{dev}/team/*', to: '{qa}/team/*' }] }], approvals: { required: 1 } },
    ]);
    const dev = p.registries.dev;
    const img = await pushRandomImage({ url: dev.url, host: dev.host }, 'team/audited', '1', { layers: [1000] });
    await p.signInStage('dev', 'team/audited', img.digest, img.reference);
    requested = img.reference;
    id = (
      await p.call('POST', '/api/v1/promotions', p.tokens.alice, {
        image: img.reference,
        from: 'dev',
        to: 'qa',
        reason: 'for the auditors',
      })
    ).body.id;
    await p.call('POST', `/api/v1/promotions/${id}/approve`, p.tokens.bob, { comment: 'checked' });
    await p.waitFor(id, p.tokens.dave, ['completed']);
  });
  afterAll(async () => {
    gpg.close();
    await p?.stop();
  });

  it('answers who asked, who approved and what was done, to auditors only', async () => {
    const h = await p.call('GET', `/api/v1/promotions/${id}/history`, p.tokens.dave);
    expect(h.status).toBe(200);
    const actions = h.body.events.map((e: { action: string; actor: string }) => `${e.actor}:${e.action}`);
    expect(actions).toEqual(expect.arrayContaining(['alice:promotion.requested', 'bob:promotion.approved', 'airlock:step.finished']));
    expect(h.body.promotion.approvals[0].approver).toBe('bob');
    expect((await p.call('GET', `/api/v1/promotions/${id}/history`, p.tokens.alice)).status).toBe(403);
    const byDigest = await p.call('GET', `/api/v1/audit/events?digest=${h.body.promotion.digest}&limit=1000`, p.tokens.dave);
    expect(byDigest.body.items.length).toBeGreaterThanOrEqual(actions.length);
    const sqlish = await p.call('GET', `/api/v1/audit/events?actor=${encodeURIComponent("bob' OR 1=1 --")}`, p.tokens.dave);
    expect(sqlish.body.items).toEqual([]);
    const badSort = await p.call('GET', '/api/v1/audit/events?sort=hash', p.tokens.dave);
    expect([badSort.status, badSort.body.error.code]).toEqual([400, 'INVALID_SORT']);
    expect((await p.call('GET', '/api/v1/audit/events/1', p.tokens.dave)).body.action).toBe('config.loaded');
    // by the image as it was requested (dev's repository), though events record QA's target
    const byRequested = await p.call(
      'GET',
      `/api/v1/audit/events?image=${encodeURIComponent(requested.replace(/:1$/, ''))}&limit=1000`,
      p.tokens.dave,
    );
    expect(byRequested.body.items.length).toBe(h.body.events.length);
    expect(new Set(byRequested.body.items.map((e: { promotionId: string }) => e.promotionId))).toEqual(new Set([id]));
    const req = h.body.events.find((e: { action: string }) => e.action === 'promotion.requested');
    expect(req.details).toMatchObject({ requested, source: requested, target: req.image });
    // the catalogue names every action appended; a name outside it is refused, not answered with nothing
    const catalogue = (await p.call('GET', '/api/v1/audit/actions', p.tokens.dave)).body.items.map((a: { action: string }) => a.action);
    const all = (await p.call('GET', '/api/v1/audit/events?limit=1000', p.tokens.dave)).body.items.map((e: { action: string }) => e.action);
    expect(catalogue).toEqual(expect.arrayContaining([...new Set(all)]));
    const unknown = await p.call('GET', '/api/v1/audit/events?action=promotion.failed', p.tokens.dave);
    expect([unknown.status, unknown.body.error.code]).toEqual([400, 'INVALID_ARGUMENT']);
  });

  it('signs checkpoints (admin) that gpg verifies, and an export verifies offline against one', async () => {
    expect((await p.call('POST', '/api/v1/audit/checkpoints', p.tokens.dave)).status).toBe(403);
    const cp = await p.call('POST', '/api/v1/audit/checkpoints', p.tokens.root);
    expect(cp.status).toBe(201);
    const sig = await request(`${p.url}/api/v1/audit/checkpoints/${cp.body.id}/signature`, {
      headers: { authorization: `Bearer ${p.tokens.dave}` },
    });
    const sigFile = join(p.dir, 'checkpoint.sig');
    writeFileSync(sigFile, Buffer.from(await sig.body.arrayBuffer()));
    await gpg.ok(['--import', join(p.dir, 'keys/dev.pub')]);
    const d = await gpg.run(['--status-fd', '2', '--decrypt', sigFile]);
    expect(d.stderr).toContain(`VALIDSIG ${p.config.fingerprints.dev}`);
    expect(JSON.parse(d.stdout.toString())).toMatchObject({ type: 'airlock audit checkpoint', size: cp.body.size, head: cp.body.head });
    const exp = await request(`${p.url}/api/v1/audit/export?format=jsonl`, { headers: { authorization: `Bearer ${p.tokens.dave}` } });
    const exportFile = join(p.dir, 'audit.jsonl');
    const exported = await exp.body.text();
    expect([exp.statusCode, exp.headers['content-type'], exported.split('\n').filter(Boolean).length >= cp.body.size]).toEqual([
      200,
      'application/x-ndjson',
      true,
    ]);
    writeFileSync(exportFile, exported);
    const ok = await airlock(['audit', 'verify-export', exportFile, '--checkpoint', sigFile, '--key', join(p.dir, 'keys/dev.pub')]);
    expect(ok.stdout).toMatch(/export ok/);
    expect(ok.code).toBe(0);
    const edited = readFileSync(exportFile, 'utf8')
      .split('\n')
      .map((l) => {
        if (!l) return l;
        const e = JSON.parse(l);
        return e.action === 'promotion.approved' ? JSON.stringify({ ...e, actor: 'eve' }) : l;
      });
    const approvedSeq = JSON.parse(edited.find((l) => l.includes('"actor":"eve"')) as string).seq;
    expect(approvedSeq).toBeLessThanOrEqual(cp.body.size);
    writeFileSync(exportFile, edited.join('\n'));
    const bad = await airlock(['audit', 'verify-export', exportFile, '--checkpoint', sigFile, '--key', join(p.dir, 'keys/dev.pub')]);
    expect([bad.code, bad.stdout]).toEqual([5, expect.stringContaining(`first bad event ${approvedSeq}`)]);
    const csv = await request(`${p.url}/api/v1/audit/export?format=csv&actor=bob`, {
      headers: { authorization: `Bearer ${p.tokens.dave}` },
    });
    expect((await csv.body.text()).split('\n')[0]).toMatch(/^seq,time,actor/);
  });

  it('verifies the chain, and names the first event altered in the SQLite file behind its back', async () => {
    const v = await p.call('GET', '/api/v1/audit/verify', p.tokens.dave);
    expect(v.body).toMatchObject({ ok: true });
    const cli = await airlock(['audit', 'verify', '--config', p.config.path]);
    expect(cli.stdout).toMatch(/chain ok: \d+ events/);
    expect(cli.code).toBe(0);
    const raw = new SqliteDatabase(join(p.dir, 'airlock.db'));
    raw.exec('DROP TRIGGER audit_events_no_update');
    const seq = (raw.prepare("SELECT seq FROM audit_events WHERE action = 'promotion.approved'").get() as { seq: number }).seq;
    raw.prepare("UPDATE audit_events SET actor = 'mallory' WHERE seq = ?").run(seq);
    raw.close();
    const after = await p.call('GET', '/api/v1/audit/verify', p.tokens.dave);
    expect(after.body).toMatchObject({ ok: false, firstBadSeq: seq });
    const cli2 = await airlock(['audit', 'verify', '--config', p.config.path]);
    expect(cli2.code).toBe(5);
    expect(cli2.stdout).toContain(`chain BROKEN at event ${seq}`);
  });
});
