import IORedis from 'ioredis';
import { request } from 'undici';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPipeline, Pipeline } from '../support/pipeline';
import { pushRandomImage } from '../support/images';

const ROLES = ['requester', 'approver', 'operator', 'auditor', 'admin'] as const;
type Who = 'public' | 'any' | (typeof ROLES)[number][];

describe('hostile clients: every route guarded, bad input refused cleanly, no secret anywhere', () => {
  let p: Pipeline;
  let pid: string;
  const seen: string[] = [];
  const tokenOf: Record<string, string> = {};
  let revoked: string;

  beforeAll(async () => {
    p = await startPipeline([
      { name: 'dev' },
      { name: 'qa', from: [{ stage: 'dev', mapping: [{ from: '{dev}/team/*', to: '{qa}/team/*' }] }], approvals: { required: 1 } },
    ]);
    for (const r of ROLES) tokenOf[r] = p.api.runtime.tokens.create(`only-${r}`, [r], 'test').token;
    const t = p.api.runtime.tokens.create('rex', ['admin'], 'test');
    p.api.runtime.tokens.revoke({ id: t.id }, 'test');
    revoked = t.token;
    const dev = p.registries.dev;
    const img = await pushRandomImage({ url: dev.url, host: dev.host }, 'team/app', '1', { layers: [1000] });
    await p.signInStage('dev', 'team/app', img.digest, img.reference);
    pid = (await p.call('POST', '/api/v1/promotions', p.tokens.alice, { image: img.reference, from: 'dev', to: 'qa' })).body.id;
    await p.call('POST', `/api/v1/promotions/${pid}/approve`, p.tokens.bob, {});
    await p.waitFor(pid, p.tokens.alice, ['completed']);
  });
  afterAll(async () => p?.stop());

  async function call(method: string, path: string, token?: string, body?: unknown, headers: Record<string, string> = {}) {
    const h: Record<string, string> = { ...headers };
    if (token) h.authorization = `Bearer ${token}`;
    if (body !== undefined && !h['content-type']) h['content-type'] = 'application/json';
    const r = await request(`${p.url}${path}`, {
      method: method as never,
      headers: h,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await r.body.text();
    seen.push(text, JSON.stringify(r.headers));
    return { status: r.statusCode, text, headers: r.headers };
  }

  const routes: [string, string, Who, unknown?][] = [
    ['GET', '/health', 'public'],
    ['GET', '/sigstore/qa/team/app@sha256=' + '0'.repeat(64) + '/signature-1', 'public'],
    ['GET', '/api/v1/stages/qa/key', 'public'],
    ['GET', '/api/v1/stages/qa/policy', 'public'],
    ['GET', '/api/v1/stages', 'any'],
    ['GET', '/api/v1/whoami', 'any'],
    ['GET', '/api/v1/promotions', 'any'],
    ['GET', '/api/v1/promotions/PID', 'any'],
    ['POST', '/api/v1/promotions', ['requester', 'admin'], { image: 'x/y:1', from: 'dev', to: 'qa' }],
    ['POST', '/api/v1/promotions/PID/approve', ['approver', 'admin'], {}],
    ['POST', '/api/v1/promotions/PID/reject', ['approver', 'admin'], {}],
    ['POST', '/api/v1/promotions/PID/cancel', ['admin'], {}], // requesters reach it, but only for their own promotions
    ['POST', '/api/v1/promotions/PID/retry', ['admin'], {}],
    ['GET', '/api/v1/promotions/PID/history', ['auditor', 'admin']],
    ['POST', '/api/v1/releases', ['requester', 'admin'], { name: 'r1', images: ['x/y:1'], from: 'dev', to: 'qa' }],
    ['GET', '/api/v1/releases', 'any'],
    ['GET', '/api/v1/releases/00000000-0000-4000-8000-000000000000', 'any'],
    ['POST', '/api/v1/releases/00000000-0000-4000-8000-000000000000/approve', ['approver', 'admin'], {}],
    ['POST', '/api/v1/releases/00000000-0000-4000-8000-000000000000/reject', ['approver', 'admin'], {}],
    ['POST', '/api/v1/releases/00000000-0000-4000-8000-000000000000/cancel', ['requester', 'admin'], {}],
    ['POST', '/api/v1/releases/00000000-0000-4000-8000-000000000000/retry', ['admin'], {}],
    ['GET', '/api/v1/audit/events', ['auditor', 'admin']],
    ['GET', '/api/v1/audit/events/1', ['auditor', 'admin']],
    ['GET', '/api/v1/audit/export', ['auditor', 'admin']],
    ['GET', '/api/v1/audit/verify', ['auditor', 'admin']],
    ['GET', '/api/v1/audit/checkpoints', ['auditor', 'admin']],
    ['POST', '/api/v1/audit/checkpoints', ['admin'], {}],
    ['POST', '/api/v1/channels/none/bundles', ['operator', 'admin'], {}],
    ['GET', '/api/v1/bundles', ['operator', 'auditor', 'admin']],
    ['GET', '/api/v1/bundles/nope', ['operator', 'auditor', 'admin']],
    ['GET', '/api/v1/bundle-jobs/00000000-0000-4000-8000-000000000000', ['operator', 'auditor', 'admin']],
  ];

  it('answers each route x {no token, bad token, revoked token, each role} as documented', async () => {
    const table: string[] = [];
    for (const [method, raw, who, body] of routes) {
      const path = raw.replace('PID', pid);
      const cells: [string, string | undefined][] = [
        ['none', undefined],
        ['bad', 'al_0123456789abcdef_' + 'A'.repeat(43)],
        ['revoked', revoked],
        ...ROLES.map((r) => [r, tokenOf[r]] as [string, string]),
      ];
      for (const [name, token] of cells) {
        const r = await call(method, path, token, body);
        let want: string;
        if (who === 'public') want = 'not 401/403';
        else if (!token || name === 'bad' || name === 'revoked') want = '401';
        else if (who === 'any' || who.includes(name as never)) want = 'not 401/403';
        else want = '403';
        const ok = want === 'not 401/403' ? r.status !== 401 && r.status !== 403 : String(r.status) === want;
        if (!ok || r.status >= 500) table.push(`${method} ${raw} as ${name}: ${r.status}, want ${want}${r.status >= 500 ? ' (5xx!)' : ''}`);
      }
    }
    expect(table).toEqual([]);
  });

  it('refuses oversized bodies, wrong content types, unknown fields, invalid digests and references with 4xx and a code, never a stack', async () => {
    const cases = [
      await call('POST', '/api/v1/promotions', p.tokens.alice, { image: 'a'.repeat(100_000), from: 'dev', to: 'qa' }),
      await call('POST', '/api/v1/promotions', p.tokens.alice, 'image=x', { 'content-type': 'text/plain' }),
      await call('POST', '/api/v1/promotions', p.tokens.alice, '{"image":', {}),
      await call('POST', '/api/v1/promotions', p.tokens.alice, { image: 'x/y:1', from: 'dev', to: 'qa', admin: true }),
      await call('POST', '/api/v1/promotions', p.tokens.alice, { image: 'x/y@sha256:../../etc', from: 'dev', to: 'qa' }),
      await call('GET', '/api/v1/audit/events?digest=sha256:zz', p.tokens.dave),
      await call('GET', '/api/v1/audit/events?since=yesterday', p.tokens.dave),
      await call('GET', '/api/v1/audit/events?limit=-5', p.tokens.dave),
      await call('GET', '/api/v1/promotions/not-a-uuid', p.tokens.dave),
      await call('GET', '/api/v1/promotions?cursor=%00%01', p.tokens.dave),
      await call('POST', `/api/v1/promotions/${pid}/approve`, p.tokens.bob, ['array'] as unknown),
    ];
    for (const c of cases) {
      expect([c.status >= 400 && c.status < 500, c.status, c.text]).toEqual([true, c.status, c.text]);
      const body = JSON.parse(c.text);
      expect(body.error.code).toMatch(/^[A-Z_]+$/);
      expect(body.error.requestId).toBeTruthy();
      expect(c.text).not.toMatch(/\bat [\w.<>]+ \(|node_modules|\.ts:\d+/);
    }
    expect(cases[0].status).toBe(413);
    // and each refusal is in the audit log
    const refusals = p.api.runtime.db.prepare("SELECT COUNT(*) AS n FROM audit_events WHERE action LIKE '%refused'").get() as { n: number };
    expect(refusals.n).toBeGreaterThanOrEqual(cases.length);
    const oversize = p.api.runtime.db
      .prepare("SELECT details FROM audit_events WHERE action = 'request.refused' AND details LIKE '%413%'")
      .get();
    expect(oversize).toBeTruthy();
  });

  it('answers a body that is not JSON with 415 UNSUPPORTED_MEDIA_TYPE and one line saying what to send, landing nothing', async () => {
    const before = (p.api.runtime.db.prepare('SELECT COUNT(*) AS n FROM promotions').get() as { n: number }).n;
    for (const [type, body] of [
      ['text/plain', '{"image":"x","from":"dev","to":"qa"}'],
      ['application/x-www-form-urlencoded', 'image=x&from=dev&to=qa'],
    ]) {
      const r = await call('POST', '/api/v1/promotions', p.tokens.alice, body, { 'content-type': type });
      expect([r.status, JSON.parse(r.text).error.code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
      expect(JSON.parse(r.text).error.message).toMatch(/content-type: application\/json/);
    }
    expect((p.api.runtime.db.prepare('SELECT COUNT(*) AS n FROM promotions').get() as { n: number }).n).toBe(before);
  });

  it('sends security headers on every answer', async () => {
    for (const path of ['/health', '/api/v1/promotions', '/sigstore/qa/x']) {
      const r = await call('GET', path, p.tokens.dave);
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['x-frame-options']).toBe('DENY');
      expect(r.headers['x-powered-by']).toBeUndefined();
    }
    expect((await call('GET', '/api/v1/promotions', p.tokens.dave)).headers['cache-control']).toBe('no-store');
  });

  it('limits changes per token, with Retry-After', async () => {
    const t = p.api.runtime.tokens.create('hammer', ['approver'], 'test').token;
    const statuses: number[] = [];
    let retryAfter: unknown;
    for (let i = 0; i < 130; i++) {
      const r = await call('POST', `/api/v1/promotions/00000000-0000-4000-8000-000000000000/approve`, t, {});
      statuses.push(r.status);
      if (r.status === 429) retryAfter = r.headers['retry-after'];
    }
    expect(statuses.slice(0, 120).every((s) => s === 404)).toBe(true);
    expect(statuses.slice(120).every((s) => s === 429)).toBe(true);
    expect(Number(retryAfter)).toBeGreaterThan(0);
    // other tokens are not affected, and reads are never limited
    expect((await call('GET', '/api/v1/promotions', t)).status).toBe(200);
  });

  it('never shows a passphrase, token or private key in answers, Redis job data, or the audit log', async () => {
    const secrets = [
      ...Object.values(p.config.env),
      ...Object.values(p.tokens).map((t) => t.slice(20)),
      ...Object.values(tokenOf).map((t) => t.slice(20)),
    ];
    const keyMaterial = readFileSync(join(p.dir, 'keys', 'qa.key'), 'utf8')
      .split('\n')
      .filter((l) => l.length > 40)
      .slice(0, 3);
    const redis = new IORedis(p.redis.url);
    const dump: string[] = [];
    for (const k of await redis.keys('*')) {
      const type = await redis.type(k);
      if (type === 'hash') dump.push(JSON.stringify(await redis.hgetall(k)));
      else if (type === 'string') dump.push(String(await redis.get(k)));
      else if (type === 'list') dump.push(JSON.stringify(await redis.lrange(k, 0, -1)));
      else if (type === 'stream') dump.push(JSON.stringify(await redis.xrange(k, '-', '+')));
    }
    await redis.quit();
    expect(dump.join('').length).toBeGreaterThan(100);
    const audit = JSON.stringify(p.api.runtime.db.prepare('SELECT * FROM audit_events').all());
    const everything = [seen.join('\n'), dump.join('\n'), audit];
    for (const [i, where] of everything.entries()) {
      for (const s of [...secrets, ...keyMaterial]) expect([i, s, where.includes(s)]).toEqual([i, s, false]);
      expect(where).not.toMatch(/PRIVATE KEY BLOCK/);
    }
  });
});
