import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import IORedis from 'ioredis';
import { sha256Digest } from '@airlock/oci';
import { QUEUES } from '../../libs/promotion/src/queues';
import { startPipeline, Pipeline } from '../support/pipeline';
import { pushIndex, pushRandomImage } from '../support/images';
import { skopeo, skopeoRawDigest } from '../support/skopeo';
import { airlock } from '../support/cli';

describe('promotion dev -> qa through the REST API (real Redis, registries, skopeo)', () => {
  let p: Pipeline;
  const dev = () => p.registries.dev;
  const qa = () => p.registries.qa;

  beforeAll(async () => {
    p = await startPipeline([
      { name: 'dev' },
      {
        name: 'qa',
        from: [{ stage: 'dev', mapping: [{ from: '{dev}/team/*', to: '{qa}/team/*' }] }],
        approvals: { required: 1, roles: ['approver'] },
      },
    ]);
  });
  afterAll(async () => p?.stop());

  async function signedDevImage(repo: string, tag: string) {
    const img = await pushRandomImage({ url: dev().url, host: dev().host }, repo, tag, { layers: [2 << 20, 300] });
    await p.signInStage('dev', repo, img.digest, `${dev().host}/${repo}:${tag}`);
    return img;
  }

  async function qaHas(repo: string, ref: string): Promise<boolean> {
    const r = await request(`${qa().url}/v2/${repo}/manifests/${ref}`, {
      method: 'HEAD',
      headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' },
    });
    await r.body.dump();
    return r.statusCode === 200;
  }

  it('requests, approves by another user, and completes; QA has the digest and skopeo accepts it under QA policy', async () => {
    const img = await signedDevImage('team/app', '1.0');
    const req = await p.call('POST', '/api/v1/promotions', p.tokens.alice, {
      image: `${dev().host}/team/app:1.0`,
      from: 'dev',
      to: 'qa',
      reason: 'release',
    });
    expect(req.status).toBe(201);
    expect(req.body).toMatchObject({ state: 'requested', digest: img.digest, approvalsNeeded: 1, target: `${qa().host}/team/app:1.0` });
    const ap = await p.call('POST', `/api/v1/promotions/${req.body.id}/approve`, p.tokens.bob, { comment: 'lgtm' });
    expect(ap.status).toBe(200);
    expect(['queued', 'verifying', 'copying', 'signing', 'published', 'completed']).toContain(ap.body.state);
    // approving twice is idempotent
    const again = await p.call('POST', `/api/v1/promotions/${req.body.id}/approve`, p.tokens.bob, {});
    expect(again.status).toBe(200);
    const done = await p.waitFor(req.body.id, p.tokens.dave, ['completed', 'failed']);
    expect(done.error).toBeNull();
    expect(done.state).toBe('completed');
    expect(done.approvals).toEqual([expect.objectContaining({ approver: 'bob', comment: 'lgtm' })]);
    // the job carried the manifest the request resolved, so the worker did not fetch it again
    const redis = new IORedis(p.redis.url);
    try {
      const [key] = await redis.keys(`*:${QUEUES.promotions}:${req.body.id}.1`);
      const job = JSON.parse((await redis.hget(key, 'data')) ?? '{}') as { manifest?: { bytes: string } };
      expect(sha256Digest(Buffer.from(job.manifest?.bytes ?? '', 'base64'))).toBe(img.digest);
    } finally {
      redis.disconnect();
    }
    expect(done.steps.map((s: { name: string; state: string }) => `${s.name}:${s.state}`)).toEqual([
      'verify:done',
      'copy:done',
      'sign:done',
      'publish:done',
    ]);
    expect(await skopeoRawDigest(`${qa().host}/team/app:1.0`)).toBe(img.digest);
    // QA's cluster policy, from the CLI, with the lookaside read from our API over HTTP
    const pol = await airlock(['policy', '--config', p.config.path, '--stage', 'qa', '--format', 'policy-json']);
    // without --format and --out: policy.json, as the API's default; one format with companion files prints its main document
    expect((await airlock(['policy', '--config', p.config.path, '--stage', 'qa'])).stdout).toBe(pol.stdout);
    const portieris = await airlock(['policy', '--config', p.config.path, '--stage', 'qa', '--format', 'portieris']);
    expect([portieris.code, portieris.stdout, portieris.stderr]).toEqual([
      0,
      expect.stringContaining('kind: ClusterImagePolicy'),
      expect.stringContaining('qa.pub'),
    ]);
    const rd = await airlock([
      'policy',
      '--config',
      p.config.path,
      '--stage',
      'qa',
      '--format',
      'registries-d',
      '--out',
      join(p.dir, 'rd'),
    ]);
    expect(rd.code).toBe(0);
    mkdirSync(join(p.dir, 'pol'), { recursive: true });
    writeFileSync(join(p.dir, 'pol', 'policy.json'), pol.stdout);
    await skopeo([
      '--policy',
      join(p.dir, 'pol', 'policy.json'),
      '--registries.d',
      join(p.dir, 'rd'),
      'copy',
      '--src-tls-verify=false',
      `docker://${qa().host}/team/app:1.0`,
      `dir:${join(p.dir, 'checked')}`,
    ]);
    // and the dev image itself is not accepted under QA's policy (other key, other registry)
    await expect(
      skopeo([
        '--policy',
        join(p.dir, 'pol', 'policy.json'),
        '--registries.d',
        join(p.dir, 'rd'),
        'copy',
        '--src-tls-verify=false',
        `docker://${dev().host}/team/app:1.0`,
        `dir:${join(p.dir, 'checked2')}`,
      ]),
    ).rejects.toThrow();
    // the audit trail has the story
    const events = p.api.runtime.audit.forPromotion(req.body.id).map((e) => e.action);
    expect(events).toEqual(
      expect.arrayContaining(['promotion.requested', 'promotion.approved', 'promotion.state', 'step.started', 'step.finished']),
    );
    expect(events.filter((a) => a === 'promotion.approved')).toHaveLength(1);
  });

  it('promotes a multi-arch index with a QA signature for the index and each platform', async () => {
    const idx = await pushIndex({ url: dev().url, host: dev().host }, 'team/multi', '2.0', ['amd64', 'arm64']);
    for (const d of [idx.digest, ...idx.children.map((c) => c.digest)])
      await p.signInStage('dev', 'team/multi', d, `${dev().host}/team/multi:2.0`);
    const req = await p.call('POST', '/api/v1/promotions', p.tokens.alice, {
      image: `${dev().host}/team/multi:2.0`,
      from: 'dev',
      to: 'qa',
    });
    await p.call('POST', `/api/v1/promotions/${req.body.id}/approve`, p.tokens.carol, {});
    const done = await p.waitFor(req.body.id, p.tokens.alice, ['completed', 'failed']);
    expect(done.state).toBe('completed');
    expect(done.result.signatures).toHaveLength(3);
    const v = await airlock([
      'verify',
      `${qa().host}/team/multi:2.0`,
      '--key',
      join(p.dir, 'keys/qa.pub'),
      '--lookaside',
      `${p.url}/sigstore/qa`,
      '--insecure',
    ]);
    expect(v.stdout).toBe(v.stdout);
    expect(v.code).toBe(0);
  });

  it('promotes what the tag meant at request time, even if it moved before approval', async () => {
    const v1 = await signedDevImage('team/moving', 'stable');
    const req = await p.call('POST', '/api/v1/promotions', p.tokens.alice, {
      image: `${dev().host}/team/moving:stable`,
      from: 'dev',
      to: 'qa',
    });
    const v2 = await signedDevImage('team/moving', 'stable');
    expect(v2.digest).not.toBe(v1.digest);
    await p.call('POST', `/api/v1/promotions/${req.body.id}/approve`, p.tokens.bob, {});
    const done = await p.waitFor(req.body.id, p.tokens.alice, ['completed', 'failed']);
    expect(done.state).toBe('completed');
    expect(await skopeoRawDigest(`${qa().host}/team/moving:stable`)).toBe(v1.digest);
  });

  it.each([
    [
      'unsigned source',
      'SIGNATURE_REQUIRED',
      async () => pushRandomImage({ url: dev().url, host: dev().host }, 'team/unsigned', '1', { layers: [500] }),
    ],
    [
      'a signature by an untrusted key',
      'SIGNATURE_UNTRUSTED_KEY',
      async () => {
        const img = await pushRandomImage({ url: dev().url, host: dev().host }, 'team/untrusted', '1', { layers: [500] });
        await p.signInStage('dev', 'team/untrusted', img.digest, `${dev().host}/team/untrusted:1`, 'qa');
        return img;
      },
    ],
    [
      'a signature for another identity',
      'SIGNATURE_IDENTITY_MISMATCH',
      async () => {
        const img = await pushRandomImage({ url: dev().url, host: dev().host }, 'team/identity', '1', { layers: [500] });
        await p.signInStage('dev', 'team/identity', img.digest, `${dev().host}/team/other:1`);
        return img;
      },
    ],
  ])('refuses %s with %s and leaves nothing in QA', async (_name, code, make) => {
    const img = await make();
    const repo = img.reference.split('/').slice(1).join('/').split(':')[0];
    const req = await p.call('POST', '/api/v1/promotions', p.tokens.alice, { image: img.reference, from: 'dev', to: 'qa' });
    expect(req.status).toBe(201);
    await p.call('POST', `/api/v1/promotions/${req.body.id}/approve`, p.tokens.bob, {});
    const done = await p.waitFor(req.body.id, p.tokens.alice, ['completed', 'failed']);
    expect(done.state).toBe('failed');
    expect(done.error).toMatchObject({ code }); // the message shows on a wrong code
    expect(await qaHas(repo, '1')).toBe(false);
    expect(await qaHas(repo, img.digest)).toBe(false);
    expect(
      p.api.runtime.audit
        .forPromotion(req.body.id)
        .some((e) => e.action === 'promotion.state' && e.details.to === 'failed' && e.details.code === code),
    ).toBe(true);
  });

  it('refuses self-approval, the wrong role, a missing or bad token, each with its code and an audit event', async () => {
    const img = await signedDevImage('team/guarded', '1');
    const req = await p.call('POST', '/api/v1/promotions', p.tokens.rita, { image: img.reference, from: 'dev', to: 'qa' });
    expect(req.status).toBe(201);
    const self = await p.call('POST', `/api/v1/promotions/${req.body.id}/approve`, p.tokens.rita, {});
    expect([self.status, self.body.error.code]).toEqual([403, 'SELF_APPROVAL_FORBIDDEN']);
    const role = await p.call('POST', `/api/v1/promotions/${req.body.id}/approve`, p.tokens.dave, {});
    expect([role.status, role.body.error.code]).toEqual([403, 'FORBIDDEN']);
    const noTok = await p.call('POST', `/api/v1/promotions/${req.body.id}/approve`, undefined, {});
    expect([noTok.status, noTok.body.error.code]).toEqual([401, 'UNAUTHENTICATED']);
    const badTok = await p.call('GET', `/api/v1/promotions/${req.body.id}`, 'al_0123456789abcdef_' + 'x'.repeat(43));
    expect(badTok.status).toBe(401);
    const requesterOnly = await p.call('POST', '/api/v1/promotions', p.tokens.bob, { image: img.reference, from: 'dev', to: 'qa' });
    expect([requesterOnly.status, requesterOnly.body.error.code]).toEqual([403, 'FORBIDDEN']);
    expect((await p.call('GET', `/api/v1/promotions/${req.body.id}`, p.tokens.alice)).body.state).toBe('requested');
    const actions = p.api.runtime.audit.forPromotion(req.body.id).map((e) => e.action);
    expect(actions).toContain('promotion.approve.refused');
    // bad input: a clear code, nothing recorded as a promotion
    const before = (await p.call('GET', '/api/v1/promotions?limit=200', p.tokens.dave)).body.items.length;
    for (const body of [
      { image: 'Not A Ref', from: 'dev', to: 'qa' },
      { image: `${dev().host}/team/app:1.0`, from: 'qa', to: 'dev' },
      { image: `${dev().host}/team/app:1.0`, from: 'dev', to: 'nowhere' },
      { image: `${qa().host}/team/app:1.0`, from: 'dev', to: 'qa' },
      { image: `${dev().host}/team/app:1.0`, from: 'dev', to: 'qa', extra: 1 },
      { image: `${dev().host}/team/nothing:1.0`, from: 'dev', to: 'qa' },
    ]) {
      const r = await p.call('POST', '/api/v1/promotions', p.tokens.alice, body);
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
      expect(r.body.error.code).toMatch(/^[A-Z_]+$/);
      expect(JSON.stringify(r.body)).not.toMatch(/\bat \w+ \(/);
    }
    expect((await p.call('GET', '/api/v1/promotions?limit=200', p.tokens.dave)).body.items.length).toBe(before);
  });

  it('cancels before execution, rejects, retries a failed promotion once it can pass', async () => {
    const img = await signedDevImage('team/life', '1');
    const a = await p.call('POST', '/api/v1/promotions', p.tokens.alice, { image: img.reference, from: 'dev', to: 'qa' });
    expect((await p.call('POST', `/api/v1/promotions/${a.body.id}/cancel`, p.tokens.bob, {})).status).toBe(403);
    expect((await p.call('POST', `/api/v1/promotions/${a.body.id}/cancel`, p.tokens.alice, {})).body.state).toBe('cancelled');
    expect((await p.call('POST', `/api/v1/promotions/${a.body.id}/approve`, p.tokens.bob, {})).body.error.code).toBe('PROMOTION_STATE');
    const b = await p.call('POST', '/api/v1/promotions', p.tokens.alice, { image: img.reference, from: 'dev', to: 'qa' });
    expect((await p.call('POST', `/api/v1/promotions/${b.body.id}/reject`, p.tokens.carol, { reason: 'not now' })).body.state).toBe(
      'rejected',
    );
    // fails unsigned, then passes after the dev signature appears and an admin retries
    const u = await pushRandomImage({ url: dev().url, host: dev().host }, 'team/later', '1', { layers: [500] });
    const c = await p.call('POST', '/api/v1/promotions', p.tokens.alice, { image: u.reference, from: 'dev', to: 'qa' });
    await p.call('POST', `/api/v1/promotions/${c.body.id}/approve`, p.tokens.bob, {});
    expect((await p.waitFor(c.body.id, p.tokens.alice, ['failed', 'completed'])).state).toBe('failed');
    expect((await p.call('POST', `/api/v1/promotions/${c.body.id}/retry`, p.tokens.bob, {})).status).toBe(403);
    await p.signInStage('dev', 'team/later', u.digest, u.reference);
    const r = await p.call('POST', `/api/v1/promotions/${c.body.id}/retry`, p.tokens.root, {});
    expect(r.status).toBe(200);
    const done = await p.waitFor(c.body.id, p.tokens.alice, ['completed', 'failed']);
    expect([done.state, done.attempt]).toEqual(['completed', 2]);
  });

  it('lists with filters and a cursor', async () => {
    const all = [];
    let cursor: string | null = null;
    do {
      const r: { body: { items: { id: string }[]; nextCursor: string | null } } = await p.call(
        'GET',
        `/api/v1/promotions?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        p.tokens.dave,
      );
      all.push(...r.body.items);
      cursor = r.body.nextCursor;
    } while (cursor);
    expect(new Set(all.map((x) => x.id)).size).toBe(all.length);
    expect(all.length).toBeGreaterThanOrEqual(8);
    const failed = await p.call('GET', '/api/v1/promotions?state=failed', p.tokens.dave);
    expect(failed.body.items.every((x: { state: string }) => x.state === 'failed')).toBe(true);
    const like = await p.call('GET', `/api/v1/promotions?image=${encodeURIComponent("%' OR 1=1 --")}`, p.tokens.dave);
    expect(like.body.items).toEqual([]);
    const bad = await p.call('GET', '/api/v1/promotions?state=bogus', p.tokens.dave);
    expect(bad.status).toBe(400);
  });
});
