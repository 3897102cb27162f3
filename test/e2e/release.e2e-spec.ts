import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPipeline, Pipeline } from '../support/pipeline';
import { pushIndex, pushRandomImage } from '../support/images';
import { skopeo, skopeoRawDigest } from '../support/skopeo';
import { airlock } from '../support/cli';
import { schemaErrors } from '../support/schema-check';

/** Releases: many images, one decision, against the real API, worker, Redis and registries; driven through the CLI. */
describe('releases', () => {
  let p: Pipeline;
  let dir: string;
  const as = (who: string) => ({ AIRLOCK_URL: p.url, AIRLOCK_TOKEN: p.tokens[who], AIRLOCK_CONTEXT: join(dir, 'none.json') });

  async function image(repo: string, signed = true) {
    const dev = p.registries.dev;
    const img = await pushRandomImage({ url: dev.url, host: dev.host }, repo, '1', { layers: [2000] });
    if (signed) await p.signInStage('dev', repo, img.digest, img.reference);
    return img;
  }
  const count = (sql: string) => (p.api.runtime.db.prepare(sql).get() as { n: number }).n;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'airlock-release-'));
    p = await startPipeline([
      { name: 'dev' },
      { name: 'qa', from: [{ stage: 'dev', mapping: [{ from: '{dev}/team/*', to: '{qa}/team/*' }] }], approvals: { required: 1 } },
    ]);
  });
  afterAll(async () => {
    await p?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('requests a release from a file, approves it once for all its images, and completes when every image did', async () => {
    const imgs = [await image('team/web'), await image('team/api'), await image('team/db')];
    const file = join(dir, 'shop.yaml');
    writeFileSync(
      file,
      `name: shop-1.4\nfrom: dev\nto: qa\nreason: shop 1.4 for QA\nimages:\n  - ${imgs[0].reference}\n  - image: ${imgs[1].reference}\n  - ${imgs[2].reference}\n`,
    );
    const req = await airlock(['release', 'request', '--file', file, '--json'], { env: as('alice') });
    expect([req.code, req.stderr]).toEqual([0, '']);
    const r = JSON.parse(req.stdout);
    expect([r.name, r.state, r.images.map((i: { state: string }) => i.state)]).toEqual([
      'shop-1.4',
      'requested',
      ['requested', 'requested', 'requested'],
    ]);
    expect(r.images.map((i: { digest: string }) => i.digest)).toEqual(imgs.map((i) => i.digest));
    // the answer is what the API's document says a release is
    const doc = (await p.call('GET', '/docs/openapi.json')).body as { components: { schemas: Record<string, never> } };
    expect(schemaErrors(r, { $ref: '#/components/schemas/Release' } as never, doc.components.schemas)).toEqual([]);
    // each image's request names the release in the audit trail
    const requested = p.api.runtime.audit.forPromotion(r.images[0].promotionId).find((e) => e.action === 'promotion.requested');
    expect(requested?.details.release).toBe(r.id);
    expect(
      count(
        `SELECT COUNT(*) AS n FROM audit_events WHERE action = 'release.requested' AND json_extract(details, '$.releaseId') = '${r.id}'`,
      ),
    ).toBe(1);

    const self = await airlock(['release', 'approve', r.id], { env: as('alice') });
    expect(self.code).toBe(4);
    const ok = await airlock(['release', 'approve', r.id, '--comment', 'all good'], { env: as('bob') });
    expect(ok.code).toBe(0);
    const watch = await airlock(['release', 'status', r.id, '--watch'], { env: as('dave') });
    expect([watch.code, watch.stderr]).toEqual([0, '']);
    expect(watch.stdout).toMatch(
      new RegExp(`^release ${r.id} shop-1\\.4: completed \\(dev -> qa, requested by alice: shop 1\\.4 for QA\\)$`, 'm'),
    );
    const done = (await p.call('GET', `/api/v1/releases/${r.id}`, p.tokens.dave)).body;
    expect(done.images.map((i: { state: string }) => i.state)).toEqual(['completed', 'completed', 'completed']);
    expect(done.progress.bytesDone).toBeGreaterThan(0);
    const list = await airlock(['release', 'list'], { env: as('dave') });
    expect(list.stdout).toMatch(new RegExp(`^${r.id}  shop-1\\.4\\s+completed\\s+dev\\s+qa\\s+3$`, 'm'));
  });

  it('records nothing when one image cannot be resolved, and says which', async () => {
    const good = await image('team/ok');
    const before = [count('SELECT COUNT(*) AS n FROM promotions'), count('SELECT COUNT(*) AS n FROM releases')];
    const missing = `${p.registries.dev.host}/team/ghost:1`;
    const r = await airlock(['release', 'request', good.reference, missing, '--name', 'half', '--from', 'dev', '--to', 'qa'], {
      env: as('alice'),
    });
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(new RegExp(`^airlock: MANIFEST_UNKNOWN: ${missing.replace(/[.]/g, '\\.')}: `));
    expect([count('SELECT COUNT(*) AS n FROM promotions'), count('SELECT COUNT(*) AS n FROM releases')]).toEqual(before);
    expect(count("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'release.request.refused'")).toBeGreaterThanOrEqual(1);
  });

  it('carries only the platforms a release file chooses: a subset index lands, signed at QA, with no byte of the others', async () => {
    const dev = p.registries.dev;
    const qa = p.registries.qa;
    const idx = await pushIndex({ url: dev.url, host: dev.host }, 'team/multi', '3', ['amd64', 'arm64', 's390x'], { layers: [1500] });
    for (const d of [idx.digest, ...idx.children.map((c) => c.digest)]) await p.signInStage('dev', 'team/multi', d, idx.reference);
    const plain = await image('team/plain');
    const before = [count('SELECT COUNT(*) AS n FROM promotions'), count('SELECT COUNT(*) AS n FROM releases')];
    // a platform the index does not have: refused before anything is recorded, naming what it has
    const wrong = join(dir, 'wrong.yaml');
    writeFileSync(wrong, `name: w\nfrom: dev\nto: qa\nimages:\n  - image: ${idx.reference}\n    platforms: [linux/riscv64]\n`);
    const w = await airlock(['release', 'request', '--file', wrong], { env: as('alice') });
    expect([w.code, w.stderr]).toEqual([
      2,
      expect.stringContaining(
        `airlock: PLATFORM_UNKNOWN: ${idx.reference}: ${idx.digest} has no platform linux/riscv64 (it has linux/amd64, linux/arm64, linux/s390x) (request `,
      ),
    ]);
    const single = join(dir, 'single.yaml');
    writeFileSync(single, `name: s\nfrom: dev\nto: qa\nimages:\n  - image: ${plain.reference}\n    platforms: [linux/amd64]\n`);
    expect((await airlock(['release', 'request', '--file', single], { env: as('alice') })).stderr).toMatch(
      /^airlock: PLATFORM_UNKNOWN: .* is a single-platform image/,
    );
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, `name: b\nfrom: dev\nto: qa\nimages:\n  - image: ${idx.reference}\n    platforms: [amd64]\n`);
    expect(await airlock(['release', 'request', '--file', bad], { env: as('alice') })).toMatchObject({
      code: 2,
      stderr: `airlock: INVALID_ARGUMENT: release file ${bad}: images[0].platform "amd64" is not os/architecture[/variant]\n`,
    });
    // the API holds bodies to the same shape
    for (const images of [
      [{ image: idx.reference, platforms: ['amd64'] }],
      [{ image: idx.reference, platforms: [] }],
      [{ image: idx.reference, platforms: ['linux/amd64', 'linux/amd64'] }],
      [{ image: idx.reference, os: 'linux' }],
      [{ platforms: ['linux/amd64'] }],
    ]) {
      const a = await p.call('POST', '/api/v1/releases', p.tokens.alice, { name: 'x', from: 'dev', to: 'qa', images });
      expect([a.status, a.body.error.code]).toEqual([400, 'INVALID_ARGUMENT']);
    }
    const one = await p.call('POST', '/api/v1/promotions', p.tokens.alice, {
      image: idx.reference,
      from: 'dev',
      to: 'qa',
      platforms: ['x'],
    });
    expect([one.status, one.body.error.code]).toEqual([400, 'INVALID_ARGUMENT']);
    expect([count('SELECT COUNT(*) AS n FROM promotions'), count('SELECT COUNT(*) AS n FROM releases')]).toEqual(before);

    const file = join(dir, 'multi.yaml');
    writeFileSync(
      file,
      `name: multi-3\nfrom: dev\nto: qa\nimages:\n  - image: ${idx.reference}\n    platforms: [linux/s390x, linux/arm64]\n  - ${plain.reference}\n`,
    );
    const req = await airlock(['release', 'request', '--file', file, '--json'], { env: as('alice') });
    expect([req.code, req.stderr]).toEqual([0, '']);
    const r = JSON.parse(req.stdout);
    const [multi, other] = r.images;
    expect([multi.digest, multi.platforms, other.platforms, other.targetDigest]).toEqual([
      idx.digest,
      ['linux/s390x', 'linux/arm64'],
      null,
      plain.digest,
    ]);
    expect(multi.targetDigest).not.toBe(idx.digest);
    const requested = p.api.runtime.audit.forPromotion(multi.promotionId).find((e) => e.action === 'promotion.requested');
    expect(requested?.details).toMatchObject({ platforms: ['linux/s390x', 'linux/arm64'], targetDigest: multi.targetDigest });
    await airlock(['release', 'approve', r.id], { env: as('bob') });
    const watch = await airlock(['release', 'status', r.id, '--watch', '--json'], { env: as('dave') });
    expect([watch.code, JSON.parse(watch.stdout).state]).toEqual([0, 'completed']);

    // QA's tag is the subset index: the chosen platforms in the index's order, nothing of amd64 in QA's registry
    expect(await skopeoRawDigest(`${qa.host}/team/multi:3`)).toBe(multi.targetDigest);
    const landed = await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${qa.host}/team/multi:3`]);
    const listed = JSON.parse(landed) as { manifests: { digest: string; platform: { architecture: string } }[] };
    expect(listed.manifests.map((m) => m.platform.architecture)).toEqual(['arm64', 's390x']);
    expect(listed.manifests.map((m) => m.digest)).toEqual([idx.children[1].digest, idx.children[2].digest]);
    const head = (path: string) => fetch(`${qa.url}/v2/team/multi/${path}`, { method: 'HEAD' }).then((x) => x.status);
    expect(await head(`manifests/${idx.children[0].digest}`)).toBe(404);
    expect(await head(`blobs/${idx.children[0].layers[0].digest}`)).toBe(404);
    expect(await head(`blobs/${idx.children[1].layers[0].digest}`)).toBe(200);
    // QA signed what landed (the subset index and each platform in it), so the next promotion and clusters accept it
    const v = await airlock([
      'verify',
      `${qa.host}/team/multi:3`,
      '--key',
      join(p.dir, 'keys/qa.pub'),
      '--lookaside',
      `${p.url}/sigstore/qa`,
      '--insecure',
    ]);
    expect([v.code, v.stderr]).toEqual([0, '']);
    // a stock tool copies it whole
    const out = join(dir, 'multi-oci');
    await skopeo(['copy', '--all', '--src-tls-verify=false', `docker://${qa.host}/team/multi:3`, `oci:${out}:x`]);
    expect(await skopeoRawDigest(`${qa.host}/team/multi:3`)).toBe(multi.targetDigest);
    // the single promotion takes --platform too
    const cli = await airlock(['promote', idx.reference, '--from', 'dev', '--to', 'qa', '--platform', 'linux/amd64', '--json'], {
      env: as('alice'),
    });
    expect(cli.code).toBe(0);
    const pv = JSON.parse(cli.stdout);
    expect([pv.platforms, pv.targetDigest === idx.digest]).toEqual([['linux/amd64'], false]);
    const text = await airlock(['status', pv.id], { env: as('dave') });
    expect(text.stdout).toContain(`  platforms  linux/amd64\n  lands as   ${pv.targetDigest}\n`);
  });

  it("fails with each image's code when one fails, and a retry runs only what failed", async () => {
    const good = await image('team/good');
    const unsigned = await image('team/unsigned', false);
    const id = (
      await airlock(['release', 'request', good.reference, unsigned.reference, '--name', 'mixed', '--from', 'dev', '--to', 'qa', '-q'], {
        env: as('alice'),
      })
    ).stdout.trim();
    await airlock(['release', 'approve', id], { env: as('bob') });
    const watch = await airlock(['release', 'status', id, '--watch', '--json'], { env: as('dave') });
    expect(watch.code).toBe(6);
    expect(watch.stderr).toMatch(
      new RegExp(`^airlock: SIGNATURE_REQUIRED: release mixed failed: ${unsigned.reference.replace(/[.]/g, '\\.')} SIGNATURE_REQUIRED: `),
    );
    const failed = JSON.parse(watch.stdout);
    expect([failed.state, failed.images.map((i: { state: string }) => i.state)]).toEqual(['failed', ['completed', 'failed']]);
    // signed now: the retry runs the failed image again, and only it
    await p.signInStage('dev', 'team/unsigned', unsigned.digest, unsigned.reference);
    const retry = await airlock(['release', 'retry', id], { env: as('root') });
    expect(retry.code).toBe(0);
    const again = await airlock(['release', 'status', id, '--watch'], { env: as('dave') });
    expect(again.code).toBe(0);
    const attempts = (await p.call('GET', `/api/v1/releases/${id}`, p.tokens.dave)).body.images.map(
      (i: { promotionId: string }) => i.promotionId,
    );
    const views = await Promise.all(
      attempts.map(async (pid: string) => (await p.call('GET', `/api/v1/promotions/${pid}`, p.tokens.dave)).body),
    );
    expect(views.map((v) => [v.state, v.attempt])).toEqual([
      ['completed', 1],
      ['completed', 2],
    ]);
  });

  it('reject needs a reason and rejects every image; a watch of it exits 8', async () => {
    const a = await image('team/ra');
    const id = (
      await airlock(['release', 'request', a.reference, '--name', 'nope', '--from', 'dev', '--to', 'qa', '-q'], { env: as('alice') })
    ).stdout.trim();
    const noReason = await airlock(['release', 'reject', id], { env: as('bob') });
    expect(noReason.code).toBe(2);
    const rej = await airlock(['release', 'reject', id, '--reason', 'not now'], { env: as('bob') });
    expect(rej.code).toBe(0);
    const watch = await airlock(['release', 'status', id, '--watch'], { env: as('dave') });
    expect([watch.code, watch.stderr]).toEqual([8, 'airlock: PROMOTION_REJECTED: release nope was rejected\n']);
    const again = await airlock(['release', 'approve', id], { env: as('bob') });
    expect([again.code, again.stderr]).toEqual([
      2,
      expect.stringMatching(/^airlock: PROMOTION_STATE: no image of release .* can be approved now/),
    ]);
  });
});
