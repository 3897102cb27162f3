import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPipeline, Pipeline } from '../support/pipeline';
import { pushRandomImage } from '../support/images';
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
    const platforms = join(dir, 'platforms.yaml');
    writeFileSync(platforms, `name: p\nfrom: dev\nto: qa\nimages:\n  - image: ${good.reference}\n    platforms: [linux/amd64]\n`);
    const pf = await airlock(['release', 'request', '--file', platforms], { env: as('alice') });
    expect([pf.code, pf.stderr]).toEqual([
      2,
      `airlock: INVALID_ARGUMENT: release file ${platforms}: images[0].platforms: choosing platforms is not supported; a promotion carries every platform of an index\n`,
    ]);
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
