import {
  copyFileSync,
  createReadStream,
  existsSync,
  mkdirSync,
  readdirSync,
  writeFileSync,
  readFileSync,
  mkdtempSync,
  rmSync,
} from 'node:fs';
import { request } from 'undici';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { startPipeline, Pipeline } from '../support/pipeline';
import { startRegistry, TestRegistry } from '../support/registry';
import { pushBlob, pushIndex, pushRandomImage } from '../support/images';
import { skopeo, skopeoRawDigest } from '../support/skopeo';
import { GpgHome } from '../support/gpg';
import { airlock } from '../support/cli';
import { readmeBlock } from '../support/readme';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { nameLowQa } from '../support/air-gap';

/**
 * Two airlock instances: the low side (dev -> qa -> prod over a bundle channel)
 * and the air-gapped high side (its own database, registry, prod key), joined
 * only by files carried between them.
 */
describe('air-gap bundles: export on the low side, verified import and re-signing on the high side', () => {
  let low: Pipeline;
  let high: Pipeline;
  let prodRegistry: TestRegistry;
  const gpg = new GpgHome();
  const carried = mkdtempSync(join(tmpdir(), 'airlock-media-'));

  beforeAll(async () => {
    prodRegistry = await startRegistry();
    // the high side first: its prod key is what the low side encrypts to
    high = await startPipeline(
      [
        { name: 'qa', withKey: false },
        {
          name: 'prod',
          from: [{ stage: 'qa', trustedKeys: ['keys/qa-sender.pub'], mapping: [{ from: 'QAHOST/team/*', to: '{prod}/team/*' }] }],
        },
      ],
      {
        registries: { prod: prodRegistry },
        worker: false,
        extra: () => ({
          channels: [{ name: 'qa-to-prod', from: 'qa', to: 'prod', encrypt: true, trustedSenders: ['keys/qa-sender.pub'] }],
        }),
      },
    );
  }, 180_000);
  afterAll(async () => {
    gpg.close();
    await low?.stop();
    await high?.stop();
    await prodRegistry?.stop();
    rmSync(carried, { recursive: true, force: true });
  });

  it('moves a promotion dev -> qa -> prod across the gap, with receipts and incremental bundles', async () => {
    // (the high side was started before the low side existed: wire the keys and host names it needs now)
    low = await startPipeline(
      [
        { name: 'dev' },
        { name: 'qa', from: [{ stage: 'dev', mapping: [{ from: '{dev}/team/*', to: '{qa}/team/*' }] }], approvals: { required: 1 } },
        {
          name: 'prod',
          withKey: false,
          transport: 'bundle',
          from: [{ stage: 'qa', mapping: [{ from: '{qa}/team/*', to: '{prod}/team/*' }] }],
          approvals: { required: 2 },
        },
      ],
      {
        registries: { prod: prodRegistry },
        extra: () => ({
          channels: [
            {
              name: 'qa-to-prod',
              from: 'qa',
              to: 'prod',
              encrypt: true,
              recipients: [join(high.dir, 'keys', 'prod.pub')],
              volumeSizeMiB: 1,
            },
          ],
        }),
      },
    );
    copyFileSync(join(low.dir, 'keys', 'qa.pub'), join(high.dir, 'keys', 'qa-sender.pub'));
    // the high side's qa stage names the low side's QA registry (never reached from there), so identities match
    nameLowQa(high, low.registries.qa.host);
    await high.restartApi();

    const dev = low.registries.dev;
    const base = await pushBlob(
      { url: dev.url, host: dev.host },
      'team/app',
      { size: 2 << 20 },
      'application/vnd.docker.image.rootfs.diff.tar.gzip',
    );
    const baseBytes = Buffer.from(await (await fetch(`${dev.url}/v2/team/app/blobs/${base.digest}`)).arrayBuffer());
    const promote = async (repo: string, tag: string) => {
      const img = await pushRandomImage({ url: dev.url, host: dev.host }, repo, tag, { layers: [baseBytes, 300_000] });
      await low.signInStage('dev', repo, img.digest, img.reference);
      const a = await low.call('POST', '/api/v1/promotions', low.tokens.alice, { image: img.reference, from: 'dev', to: 'qa' });
      await low.call('POST', `/api/v1/promotions/${a.body.id}/approve`, low.tokens.bob, {});
      expect((await low.waitFor(a.body.id, low.tokens.alice, ['completed', 'failed'])).state).toBe('completed');
      const b = await low.call('POST', '/api/v1/promotions', low.tokens.alice, {
        image: `${low.registries.qa.host}/${repo}:${tag}`,
        from: 'qa',
        to: 'prod',
        reason: 'release to production',
      });
      expect(b.status).toBe(201);
      await low.call('POST', `/api/v1/promotions/${b.body.id}/approve`, low.tokens.bob, { comment: 'ok' });
      expect((await low.call('GET', `/api/v1/promotions/${b.body.id}`, low.tokens.alice)).body.state).toBe('requested');
      await low.call('POST', `/api/v1/promotions/${b.body.id}/approve`, low.tokens.carol, { comment: 'ok too' });
      const waiting = await low.waitFor(b.body.id, low.tokens.alice, ['exporting', 'failed']);
      expect(waiting.state).toBe('exporting');
      return { img, id: b.body.id as string };
    };

    const first = await promote('team/app', '1.0');
    // export through the API (operator), carry the files
    expect((await low.call('POST', '/api/v1/channels/qa-to-prod/bundles', low.tokens.alice, {})).status).toBe(403);
    const started = await low.call('POST', '/api/v1/channels/qa-to-prod/bundles', low.tokens.olga, {});
    expect([started.status, started.body.state, started.body.sequence]).toEqual([202, 'queued', 1]);
    // the worker writes it; the job tells its bytes, its end and the bundle it wrote (GET, and server-sent events)
    const events = await request(`${low.url}/api/v1/bundle-jobs/${started.body.id}/events`, {
      headers: { authorization: `Bearer ${low.tokens.olga}` },
    });
    const stream = await events.body.text();
    expect(stream).toMatch(/"state":"completed"/);
    const job = (await low.call('GET', `/api/v1/bundle-jobs/${started.body.id}`, low.tokens.dave)).body;
    expect(job).toMatchObject({ state: 'completed', sequence: 1, requestedBy: 'olga', error: null });
    expect(job.bytesDone).toBe(job.bytesTotal);
    const ex = { body: job.result };
    expect(ex.body).toMatchObject({ sequence: 1, images: 1 });
    expect(ex.body.volumes.length).toBeGreaterThan(1);
    expect((await low.call('GET', `/api/v1/promotions/${first.id}`, low.tokens.alice)).body.state).toBe('exported');
    const media1 = join(carried, 'bundle1');
    mkdirSync(media1);
    for (const v of ex.body.volumes as { name: string }[]) copyFileSync(join(ex.body.dir, v.name), join(media1, v.name));
    expect(
      readdirSync(ex.body.dir)
        .filter((f) => f.includes('-000001.') && !f.endsWith('.zip'))
        .sort(),
    ).toEqual(['airlock-qa-to-prod-000001.index.pgp', 'airlock-qa-to-prod-000001.plan.json']);
    const files1 = readdirSync(media1).map((f) => join(media1, f));

    // the high side: inspect, import, and skopeo accepts the production copy under production's policy
    const insp = await airlock(['bundle', 'inspect', ...files1, '--config', high.config.path]);
    expect(insp.stderr).toBe('');
    expect(insp.stdout).toContain('would import: yes');
    expect(insp.stdout).toMatch(/approved by bob, carol/);
    const imp = await airlock(['bundle', 'import', ...files1, '--config', high.config.path, '--receipt-dir', carried]);
    expect(imp.stderr).toBe('');
    expect(imp.code).toBe(0);
    const prodRef = `${prodRegistry.host}/team/app:1.0`;
    expect(await skopeoRawDigest(prodRef)).toBe(first.img.digest);
    const pol = await airlock(['policy', '--config', high.config.path, '--stage', 'prod', '--format', 'policy-json']);
    writeFileSync(join(high.dir, 'policy.json'), pol.stdout);
    const rd = await airlock([
      'policy',
      '--config',
      high.config.path,
      '--stage',
      'prod',
      '--format',
      'registries-d',
      '--out',
      join(high.dir, 'rd'),
    ]);
    expect(rd.code).toBe(0);
    await skopeo([
      '--policy',
      join(high.dir, 'policy.json'),
      '--registries.d',
      join(high.dir, 'rd'),
      'copy',
      '--src-tls-verify=false',
      `docker://${prodRef}`,
      `dir:${join(high.dir, 'checked')}`,
    ]);
    // the high side's audit names the low side's requester and approvers
    const story = (await high.call('GET', `/api/v1/promotions/${first.id}/history`, high.tokens.dave)).body;
    expect(story.promotion).toMatchObject({ state: 'imported', requester: 'alice' });
    expect(
      story.events
        .find((e: { action: string }) => e.action === 'promotion.imported')
        .details.approvals.map((a: { approver: string }) => a.approver),
    ).toEqual(['bob', 'carol']);
    // importing the same bundle again finishes nothing new and says so
    const again = await airlock(['bundle', 'import', ...files1, '--config', high.config.path, '--receipt-dir', carried]);
    expect(again.stdout).toContain('was already imported');

    // the receipt goes back: the promotion is imported, and the next bundle leaves out what the high side has
    const receipt = readdirSync(carried).find((f) => f.endsWith('.receipt')) as string;
    const rc = await airlock(['bundle', 'receipt', 'import', join(carried, receipt), '--config', low.config.path]);
    expect(rc.stdout).toMatch(/1 promotion imported/);
    expect((await low.call('GET', `/api/v1/promotions/${first.id}`, low.tokens.alice)).body.state).toBe('imported');
    const second = await promote('team/app', '1.1');
    const ex2 = await airlock(['bundle', 'export', '--channel', 'qa-to-prod', '--config', low.config.path]);
    expect(ex2.code).toBe(0);
    expect(ex2.stdout).toMatch(/sequence 2: 1 image, .*1 blob left out/);
    const media2 = join(carried, 'bundle2');
    mkdirSync(media2);
    for (const f of ex2.stdout.trim().split('\n').slice(1)) copyFileSync(f, join(media2, f.split('/').pop() as string));
    // this time through the high side's API: upload the files (streamed), then import
    for (const f of readdirSync(media2)) {
      const up = await request(`${high.url}/api/v1/bundles/uploads/${f}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${high.tokens.olga}`, 'content-type': 'application/octet-stream' },
        body: createReadStream(join(media2, f)),
      });
      expect([f, up.statusCode]).toEqual([f, 200]);
      await up.body.dump();
    }
    expect((await high.call('POST', '/api/v1/bundles/import', high.tokens.dave, { files: readdirSync(media2) })).status).toBe(403);
    const importJob = await high.call('POST', '/api/v1/bundles/import', high.tokens.olga, { files: readdirSync(media2) });
    expect([importJob.status, importJob.body.kind, importJob.body.sequence]).toEqual([202, 'import', 2]);
    const ended = await request(`${high.url}/api/v1/bundle-jobs/${importJob.body.id}/events`, {
      headers: { authorization: `Bearer ${high.tokens.olga}` },
    });
    expect(await ended.body.text()).toMatch(/"state":"completed"/);
    const imp2 = { body: (await high.call('GET', `/api/v1/bundle-jobs/${importJob.body.id}`, high.tokens.olga)).body.result };
    expect(imp2.body).toMatchObject({ sequence: 2, alreadyImported: false });
    // the job names its bundle once the signed index said which (a format-2 volume's name does not)
    expect((await high.call('GET', `/api/v1/bundle-jobs/${importJob.body.id}`, high.tokens.olga)).body.bundleId).toBe(imp2.body.bundleId);
    const rc2 = await request(`${high.url}/api/v1/bundles/${imp2.body.bundleId}/receipt`, {
      headers: { authorization: `Bearer ${high.tokens.olga}` },
    });
    expect(rc2.statusCode).toBe(200);
    writeFileSync(join(carried, 'receipt2'), Buffer.from(await rc2.body.arrayBuffer()));
    expect((await airlock(['bundle', 'receipt', 'import', join(carried, 'receipt2'), '--config', low.config.path])).stdout).toMatch(
      /1 promotion imported/,
    );

    expect(await skopeoRawDigest(`${prodRegistry.host}/team/app:1.1`)).toBe(second.img.digest);

    // bundle 1 again after bundle 2: the same id and content as an earlier import is harmless, not a replay
    const replay = await airlock(['bundle', 'import', ...files1, '--config', high.config.path]);
    expect(replay.stdout).toContain('was already imported');
    // a truncated volume: refused before anything else, with its code
    const broken = join(carried, 'broken');
    mkdirSync(broken);
    for (const f of readdirSync(media2)) copyFileSync(join(media2, f), join(broken, f));
    const vol = readdirSync(broken).find((f) => f.endsWith('.001.zip')) as string;
    writeFileSync(join(broken, vol), readFileSync(join(broken, vol)).subarray(0, 1000));
    const bad = await airlock(['bundle', 'import', ...readdirSync(broken).map((f) => join(broken, f)), '--config', high.config.path]);
    expect(bad.code).toBe(5);
    expect(bad.stderr).toMatch(/BUNDLE_VOLUME_CORRUPT/);
    const refused = (await high.call('GET', '/api/v1/audit/events?action=bundle.import.refused', high.tokens.dave)).body.items;
    expect(refused.some((e: { details: { code: string } }) => e.details.code === 'BUNDLE_VOLUME_CORRUPT')).toBe(true);

    // break-glass: the README's lines as they are (unzip, gpg, jq, sha256sum, skopeo), with the names of this test's media and registry
    await gpg.ok(['--import', join(low.dir, 'keys', 'qa.pub')]);
    await gpg.ok(['--passphrase', high.config.env.AIRLOCK_TEST_PROD_PASSPHRASE, '--import', join(high.dir, 'keys', 'prod.key')]);
    writeFileSync(join(carried, 'prod.pass'), high.config.env.AIRLOCK_TEST_PROD_PASSPHRASE);
    const rescueRef = `${prodRegistry.host}/team/rescued:1`;
    const lines = readmeBlock('break-glass')
      .replace('cd /media', `cd ${media1}`)
      .replace('docker://prod.registry.example:5000/team/app:1.0', `--dest-tls-verify=false docker://${rescueRef}`); // this test's registry speaks plain HTTP
    // gpg asks for the import key's passphrase on a terminal; here it reads it from a file
    const script = `set -euo pipefail\ngpg() { command gpg --batch --pinentry-mode loopback --passphrase-file ${join(carried, 'prod.pass')} "$@"; }\n${lines}`;
    const glass = spawnSync('bash', ['-c', script], { env: gpg.env, encoding: 'utf8' });
    expect([glass.status, glass.stderr]).toEqual([0, expect.stringContaining('Good signature from "airlock qa"')]);
    expect(await skopeoRawDigest(rescueRef)).toBe(first.img.digest);
    const unpacked = media1;
    await skopeo(['copy', `oci:${join(unpacked, 'layout', 'oci')}`, `dir:${join(carried, 'rescued')}`]);
    expect(readdirSync(join(carried, 'rescued'))).toContain('manifest.json');

    // ... and finished signed, with stock tools only, as the README shows: pushed, production's generated policy refuses it unsigned;
    // skopeo signs it with production's key (gpg) into production's lookaside folder, and the same policy accepts it
    const rescuedRef = `${prodRegistry.host}/team/rescued:1`;
    const underPolicy = () =>
      skopeo([
        '--policy',
        join(high.dir, 'policy.json'),
        '--registries.d',
        join(high.dir, 'rd'),
        'copy',
        '--src-tls-verify=false',
        `docker://${rescuedRef}`,
        `dir:${mkdtempSync(join(carried, 'cluster-'))}`,
      ]);
    await skopeo(['copy', '--dest-tls-verify=false', `oci:${join(unpacked, 'layout', 'oci')}`, `docker://${rescuedRef}`]);
    await expect(underPolicy()).rejects.toThrow(/signature/i);
    const signD = join(carried, 'sign.d');
    mkdirSync(signD);
    writeFileSync(
      join(signD, 'prod.yaml'),
      `docker:\n  ${prodRegistry.host}:\n    lookaside-staging: file://${join(high.dir, 'sigstore', 'prod')}\n`,
    );
    await skopeo(
      [
        'copy',
        '--registries.d',
        signD,
        '--dest-tls-verify=false',
        '--sign-by',
        high.config.fingerprints.prod,
        '--sign-passphrase-file',
        join(carried, 'prod.pass'),
        `oci:${join(unpacked, 'layout', 'oci')}`,
        `docker://${rescuedRef}`,
      ],
      { env: gpg.env },
    );
    await underPolicy();
  });

  /** An image of `repo` promoted dev -> qa, then requested and approved for prod: verified and waiting for the channel's next bundle. */
  async function waitingForExport(repo: string, layer: number) {
    const dev = low.registries.dev;
    const img = await pushRandomImage({ url: dev.url, host: dev.host }, repo, '1', { layers: [layer] });
    await low.signInStage('dev', repo, img.digest, img.reference);
    const a = await low.call('POST', '/api/v1/promotions', low.tokens.alice, { image: img.reference, from: 'dev', to: 'qa' });
    await low.call('POST', `/api/v1/promotions/${a.body.id}/approve`, low.tokens.bob, {});
    await low.waitFor(a.body.id, low.tokens.alice, ['completed']);
    const b = await low.call('POST', '/api/v1/promotions', low.tokens.alice, {
      image: `${low.registries.qa.host}/${repo}:1`,
      from: 'qa',
      to: 'prod',
    });
    await low.call('POST', `/api/v1/promotions/${b.body.id}/approve`, low.tokens.bob, {});
    await low.call('POST', `/api/v1/promotions/${b.body.id}/approve`, low.tokens.carol, {});
    await low.waitFor(b.body.id, low.tokens.alice, ['exporting']);
    return { img, b };
  }

  it('an import killed at every step finishes on the next run, and the registry, lookaside and database agree', async () => {
    const { img, b } = await waitingForExport('team/crash', 500_000);
    // the exporter killed with -9 halfway: nothing under a final name, and the next run writes the bundle
    const killed = await airlock(
      ['bundle', 'export', '--channel', 'qa-to-prod', '--config', low.config.path, '--out', join(carried, 'bundle3')],
      {
        env: { AIRLOCK_FAULT_AT: 'export:mid-bundle' },
      },
    );
    expect(killed.code).toBe(-1);
    expect(readdirSync(join(carried, 'bundle3')).filter((f) => !f.startsWith('.'))).toEqual([]);
    expect((await low.call('GET', `/api/v1/promotions/${b.body.id}`, low.tokens.alice)).body.state).toBe('exporting');
    const ex = await airlock([
      'bundle',
      'export',
      '--channel',
      'qa-to-prod',
      '--config',
      low.config.path,
      '--out',
      join(carried, 'bundle3'),
    ]);
    expect(ex.code).toBe(0);
    expect(readdirSync(join(carried, 'bundle3')).filter((f) => f.startsWith('.'))).toEqual([]);
    const files = readdirSync(join(carried, 'bundle3')).map((f) => join(carried, 'bundle3', f));
    for (const point of [
      'import:checked',
      'import:mid-push',
      'import:pushed',
      'import:verified',
      'import:tagged',
      'import:signed',
      'import:before-commit',
      'import:committed',
    ]) {
      const r = await airlock(['bundle', 'import', ...files, '--config', high.config.path, '--receipt-dir', carried], {
        env: { AIRLOCK_FAULT_AT: point },
      });
      expect([point, r.code]).toEqual([point, -1]); // killed (SIGKILL)
    }
    const done = await airlock(['bundle', 'import', ...files, '--config', high.config.path, '--receipt-dir', carried]);
    expect(done.code).toBe(0);
    expect(await skopeoRawDigest(`${prodRegistry.host}/team/crash:1`)).toBe(img.digest);
    expect(readdirSync(join(high.dir, 'sigstore', 'prod', `team/crash@${img.digest.replace(':', '=')}`))).toEqual(['signature-1']);
    const rows = high.api.runtime.db.prepare("SELECT COUNT(*) AS n FROM bundles WHERE direction = 'import' AND sequence = 3").get() as {
      n: number;
    };
    expect(rows.n).toBe(1);
    expect(high.api.runtime.audit.forPromotion(b.body.id).filter((e) => e.action === 'promotion.imported')).toHaveLength(1);
    expect(readdirSync(join(high.dir, 'staging'))).toEqual([]);
    // the rows an import leaves after crashes and a re-run are those of one clean run (the first test's import)
    const shape = async (id: string) => {
      const p = (await high.call('GET', `/api/v1/promotions/${id}`, high.tokens.dave)).body;
      const events = high.api.runtime.audit
        .forPromotion(id)
        .map((e) => (e.action === 'promotion.state' ? `${String(e.details.from)}->${String(e.details.to)}` : e.action));
      return {
        state: p.state,
        steps: p.steps.map((x: { name: string; state: string; finishedAt: string | null }) => `${x.name}:${x.state}:${!!x.finishedAt}`),
        events,
      };
    };
    const clean = await shape(
      high.api.runtime.db.prepare("SELECT id FROM promotions WHERE target_ref LIKE '%team/app:1.0'").pluck().get() as string,
    );
    expect(clean).toEqual({
      state: 'imported',
      steps: ['verify:done:true', 'copy:done:true', 'sign:done:true', 'publish:done:true'],
      events: ['requested->approved', 'approved->imported', 'promotion.imported'],
    });
    expect(await shape(b.body.id)).toEqual(clean);
  });

  it('a refused receipt (forged, tampered, by another key, for an unknown bundle, another channel or sequence) is audited on the low side and changes nothing', async () => {
    const receiptFile = readdirSync(carried).find((f) => f.endsWith('.receipt')) as string;
    const real = readFileSync(join(carried, receiptFile));
    const exported = low.api.runtime.db
      .prepare("SELECT id, sequence FROM bundles WHERE direction = 'export' ORDER BY sequence LIMIT 1")
      .get() as {
      id: string;
      sequence: number;
    };
    await gpg.ok(['--passphrase', high.config.env.AIRLOCK_TEST_PROD_PASSPHRASE, '--import', join(high.dir, 'keys', 'prod.key')]);
    const prodFpr = high.config.fingerprints.prod;
    const mallory = await gpg.generate('mallory <m@example.invalid>');
    const body = (o: Record<string, unknown>) =>
      JSON.stringify({
        type: 'airlock bundle receipt',
        bundleId: exported.id,
        channel: 'qa-to-prod',
        sequence: exported.sequence,
        importer: 'olga',
        time: new Date().toISOString(),
        images: [],
        blobs: [],
        ...o,
      });
    const signed = async (json: string, by: string, pass?: string) =>
      gpg.ok([...(pass ? ['--passphrase', pass] : []), '--local-user', by, '--compress-algo', 'none', '--sign'], json);
    const tampered = Buffer.from(real);
    tampered[Math.floor(tampered.length / 2)] ^= 0x01;
    const cases: [string, Buffer, string][] = [
      ['tampered', tampered, 'SIGNATURE_'],
      ['forged by another key', await signed(body({}), mallory), 'SIGNATURE_UNTRUSTED_KEY'],
      ['not a signed message', Buffer.from(body({})), 'SIGNATURE_FORMAT'],
      [
        'an unknown bundle',
        await signed(body({ bundleId: '00000000-0000-4000-8000-000000000000' }), prodFpr, high.config.env.AIRLOCK_TEST_PROD_PASSPHRASE),
        'BUNDLE_INVALID',
      ],
      [
        'another channel',
        await signed(body({ channel: 'elsewhere' }), prodFpr, high.config.env.AIRLOCK_TEST_PROD_PASSPHRASE),
        'BUNDLE_INVALID',
      ],
      [
        'another sequence',
        await signed(body({ sequence: exported.sequence + 7 }), prodFpr, high.config.env.AIRLOCK_TEST_PROD_PASSPHRASE),
        'BUNDLE_INVALID',
      ],
    ];
    const db = low.api.runtime.db;
    const lowState = () => ({
      promotions: db.prepare('SELECT id, state FROM promotions ORDER BY id').all(),
      blobs: db.prepare('SELECT * FROM channel_blobs ORDER BY digest').all(),
      bundles: db.prepare('SELECT id, receipt_at FROM bundles ORDER BY id').all(),
    });
    for (const [what, bytes, code] of cases) {
      const before = lowState();
      const audited = (await low.call('GET', '/api/v1/audit/events?action=bundle.receipt.refused&limit=1000', low.tokens.dave)).body.items
        .length;
      writeFileSync(join(carried, 'hostile.receipt'), bytes);
      const r = await airlock(['bundle', 'receipt', 'import', join(carried, 'hostile.receipt'), '--config', low.config.path]);
      expect([what, r.code === 0, r.stderr]).toEqual([what, false, expect.stringContaining(`airlock: ${code}`)]);
      expect(lowState()).toEqual(before);
      const events = (await low.call('GET', '/api/v1/audit/events?action=bundle.receipt.refused&limit=1000', low.tokens.dave)).body.items;
      expect([what, events.length]).toEqual([what, audited + 1]);
    }
  });

  it('two exports of one channel at once: one writes the bundle, the other is BUNDLE_EXPORT_BUSY (or finds nothing left) and writes nothing', async () => {
    const { b } = await waitingForExport('team/twice', 3_000_000);
    // another process (this one, alive) runs an export of the channel: refused at once, nothing written
    const out = join(carried, 'twice');
    const db = low.api.runtime.db;
    const now = new Date().toISOString();
    db.prepare(
      "INSERT INTO bundle_jobs (id, kind, channel, sequence, bundle_id, state, runner, requested_by, plan, created_at, updated_at) VALUES (?, 'export', 'qa-to-prod', 99, ?, 'running', ?, 'test', '{}', ?, ?)",
    ).run(randomUUID(), randomUUID(), `${hostname()}:${process.pid}`, now, now);
    try {
      const busy = await airlock(['bundle', 'export', '--channel', 'qa-to-prod', '--config', low.config.path, '--out', out]);
      expect([busy.code, busy.stderr]).toEqual([3, expect.stringMatching(/^airlock: BUNDLE_EXPORT_BUSY: /)]);
      expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
    } finally {
      db.prepare("DELETE FROM bundle_jobs WHERE sequence = 99 AND requested_by = 'test'").run();
    }
    const sequences = () =>
      low.api.runtime.db.prepare("SELECT sequence FROM bundles WHERE direction = 'export' ORDER BY sequence").pluck().all() as number[];
    const before = sequences();
    const [api, cli] = await Promise.all([
      low.call('POST', '/api/v1/channels/qa-to-prod/bundles', low.tokens.olga, {}),
      airlock(['bundle', 'export', '--channel', 'qa-to-prod', '--config', low.config.path, '--out', out]),
    ]);
    const apiOutcome = async () => {
      if (api.status !== 202) return api.body.error.code;
      const end = Date.now() + 30_000;
      for (let j = api.body; ; j = (await low.call('GET', `/api/v1/bundle-jobs/${api.body.id}`, low.tokens.olga)).body) {
        if (j.state === 'completed') return 'exported';
        if (j.state === 'failed' || Date.now() > end) return j.error?.code ?? j.state;
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const outcomes = [await apiOutcome(), cli.code === 0 ? 'exported' : /airlock: (\w+):/.exec(cli.stderr)?.[1]];
    expect(outcomes.filter((o) => o === 'exported')).toHaveLength(1);
    expect(outcomes.filter((o) => o !== 'exported')).toEqual([expect.stringMatching(/^(BUNDLE_EXPORT_BUSY|BUNDLE_NOTHING_TO_EXPORT)$/)]);
    expect(sequences()).toEqual([...before, before[before.length - 1] + 1]);
    expect((await low.call('GET', `/api/v1/promotions/${b.body.id}`, low.tokens.alice)).body.state).toBe('exported');
    expect(low.api.runtime.db.prepare("SELECT COUNT(*) FROM bundle_jobs WHERE state IN ('queued', 'running')").pluck().get()).toBe(0);
  });

  it('a lost bundle strands nothing: what no receipt confirmed is sent again, named or after resendAfterHours, and the high side imports it once', async () => {
    // team/twice went out in a bundle that never reached the high side; team/crash arrived, but its receipt never came back
    const id = (repo: string) =>
      low.api.runtime.db
        .prepare("SELECT id FROM promotions WHERE to_stage = 'prod' AND target_ref LIKE ? ORDER BY rowid DESC")
        .pluck()
        .get(`%/${repo}:1`) as string;
    const [twice, crash] = [id('team/twice'), id('team/crash')];
    const state = async (p: string) => (await low.call('GET', `/api/v1/promotions/${p}`, low.tokens.alice)).body.state;
    expect([await state(twice), await state(crash)]).toEqual(['exported', 'exported']);
    const out = join(carried, 'resend');
    const nothing = await airlock(['bundle', 'export', '--channel', 'qa-to-prod', '--config', low.config.path, '--out', out]);
    expect([nothing.code, nothing.stderr]).toEqual([
      2,
      expect.stringMatching(
        /BUNDLE_NOTHING_TO_EXPORT: .*2 exported promotions have no receipt yet \(bundle export --resend sends them again\)/,
      ),
    ]);
    // only an exported, unconfirmed promotion of this channel can be named
    const unknown = await airlock([
      'bundle',
      'export',
      '--channel',
      'qa-to-prod',
      '--config',
      low.config.path,
      '--out',
      out,
      '--resend',
      randomUUID(),
    ]);
    expect(unknown.stderr).toMatch(/^airlock: PROMOTION_NOT_FOUND: /);
    const confirmed = low.api.runtime.db.prepare("SELECT id FROM promotions WHERE state = 'imported' LIMIT 1").pluck().get() as string;
    const done = await airlock([
      'bundle',
      'export',
      '--channel',
      'qa-to-prod',
      '--config',
      low.config.path,
      '--out',
      out,
      '--resend',
      confirmed,
    ]);
    expect(done.stderr).toMatch(
      /^airlock: PROMOTION_STATE: promotion .* is imported: only an exported promotion that no receipt confirmed/,
    );
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);

    // the operator names the lost one: it goes into the next bundle with its approvals, and the resend is audited with why
    const named = await airlock([
      'bundle',
      'export',
      '--channel',
      'qa-to-prod',
      '--config',
      low.config.path,
      '--out',
      out,
      '--resend',
      twice,
    ]);
    expect([named.code, named.stdout]).toEqual([0, expect.stringMatching(/: 1 image \(1 sent again\), /)]);
    const why = (await low.call('GET', `/api/v1/audit/events?action=bundle.resend&promotionId=${twice}`, low.tokens.dave)).body.items;
    expect(why.map((e: { details: { reason: string } }) => e.details.reason)).toEqual(['named by the operator']);
    const files = readdirSync(out).map((f) => join(out, f));
    const imp = await airlock([
      'bundle',
      'import',
      ...files,
      '--config',
      high.config.path,
      '--receipt-dir',
      join(carried, 'resend-receipts'),
    ]);
    expect([imp.code, imp.stderr]).toEqual([0, '']);
    const twiceHigh = (await high.call('GET', `/api/v1/promotions/${twice}`, high.tokens.dave)).body;
    expect([twiceHigh.state, twiceHigh.approvals.map((a: { approver: string }) => a.approver)]).toEqual(['imported', ['bob', 'carol']]);
    const receipts = readdirSync(join(carried, 'resend-receipts'));
    expect(
      (await airlock(['bundle', 'receipt', 'import', join(carried, 'resend-receipts', receipts[0]), '--config', low.config.path])).stdout,
    ).toMatch(/1 promotion imported/);
    expect(await state(twice)).toBe('imported');

    // no receipt for longer than the channel's resendAfterHours: the next export carries it by itself; the high side has it already and imports it once
    low.api.runtime.db
      .prepare('UPDATE promotions SET updated_at = ? WHERE id = ?')
      .run(new Date(Date.now() - 73 * 3600_000).toISOString(), crash);
    const out2 = join(carried, 'resend2');
    const auto = await airlock(['bundle', 'export', '--channel', 'qa-to-prod', '--config', low.config.path, '--out', out2]);
    expect([auto.code, auto.stdout]).toEqual([0, expect.stringMatching(/: 1 image \(1 sent again\), /)]);
    expect(
      (await low.call('GET', `/api/v1/audit/events?action=bundle.resend&promotionId=${crash}`, low.tokens.dave)).body.items[0].details
        .reason,
    ).toBe('no receipt 72 h after it was exported');
    // sent again, its clock starts again: the export after it has nothing to send
    expect((await airlock(['bundle', 'export', '--channel', 'qa-to-prod', '--config', low.config.path, '--out', out2])).stderr).toMatch(
      /BUNDLE_NOTHING_TO_EXPORT: .*1 exported promotion has no receipt yet/,
    );
    const before = high.api.runtime.audit.forPromotion(crash).length;
    const imp2 = await airlock([
      'bundle',
      'import',
      ...readdirSync(out2).map((f) => join(out2, f)),
      '--config',
      high.config.path,
      '--receipt-dir',
      join(carried, 'resend-receipts2'),
    ]);
    expect([imp2.code, imp2.stderr]).toEqual([0, '']);
    expect(high.api.runtime.audit.forPromotion(crash).length).toBe(before);
    const rc = await airlock([
      'bundle',
      'receipt',
      'import',
      join(carried, 'resend-receipts2', readdirSync(join(carried, 'resend-receipts2'))[0]),
      '--config',
      low.config.path,
    ]);
    expect(rc.stdout).toMatch(/1 promotion imported/);
    expect(await state(crash)).toBe('imported');
  });
  it('format 2: a volume lost holds back only the images with entries in it; written again with --volumes, it finishes the bundle; a tampered entry lands nothing', async () => {
    const a = await waitingForExport('team/vola', 300_000);
    const b = await waitingForExport('team/volb', 2_500_000);
    const out = join(carried, 'bundle-vol');
    const ex = await airlock(['bundle', 'export', '--channel', 'qa-to-prod', '--config', low.config.path, '--out', out]);
    expect(ex.code).toBe(0);
    const planFile = readdirSync(out).find((f) => f.endsWith('.plan.json')) as string;
    const plan = JSON.parse(readFileSync(join(out, planFile), 'utf8')) as {
      sequence: number;
      volumes: number;
      entries: { path: string; parts: { volume: number }[] }[];
    };
    const volumesOf = (digest: string) =>
      plan.entries.find((e) => e.path === `oci/blobs/sha256/${digest.slice(7)}`)?.parts.map((p) => p.volume) ?? [];
    const lost = Math.max(...volumesOf(b.img.layers[0].digest));
    expect(
      plan.entries
        .filter((e) => ![b.img.layers[0].digest].includes(`sha256:${e.path.split('/').pop()}`))
        .every((e) => e.parts.every((p) => p.volume !== lost)),
    ).toBe(true);
    const media = join(carried, 'bundle-vol-media');
    mkdirSync(media);
    const volumeFile = (n: number) => readdirSync(out).find((f) => f.endsWith(`.${String(n).padStart(3, '0')}.zip`)) as string;
    for (let n = 1; n <= plan.volumes; n++) if (n !== lost) copyFileSync(join(out, volumeFile(n)), join(media, volumeFile(n)));
    const files = () => readdirSync(media).map((f) => join(media, f));

    // inspect reads the central directories and the index only, and says what is missing
    const insp = await airlock(['bundle', 'inspect', ...files(), '--config', high.config.path]);
    expect(insp.stdout).toContain(`missing ${lost}`);
    expect(insp.stdout).toMatch(/would import: yes, in part \(BUNDLE_INCOMPLETE: .*team\/volb:1 wait for volume/);
    // a volume of another bundle among them is named, and the rest inspected as before
    const stray = readdirSync(join(carried, 'bundle1')).find((f) => f.endsWith('.001.zip')) as string;
    const mixed = await airlock(['bundle', 'inspect', ...files(), join(carried, 'bundle1', stray), '--config', high.config.path]);
    expect([mixed.code, mixed.stdout]).toEqual([0, expect.stringContaining(`not of this bundle (another index, or none): ${stray}`)]);
    expect(mixed.stdout).toContain(`missing ${lost}`);
    // the import takes the image whose entries are all here; the other waits
    const part = await airlock(['bundle', 'import', ...files(), '--config', high.config.path, '--receipt-dir', carried]);
    expect(part.code).not.toBe(0);
    expect(part.stderr).toMatch(new RegExp(`BUNDLE_INCOMPLETE.*volume ${lost}`));
    expect(await skopeoRawDigest(`${prodRegistry.host}/team/vola:1`)).toBe(a.img.digest);
    await expect(skopeoRawDigest(`${prodRegistry.host}/team/volb:1`)).rejects.toThrow();
    expect(high.api.runtime.audit.forPromotion(a.b.body.id).map((e) => e.action)).toContain('promotion.imported');
    const partial = (await high.call('GET', '/api/v1/audit/events?action=bundle.import.partial', high.tokens.dave)).body.items;
    expect(partial[0].details).toMatchObject({ missingVolumes: [lost], waiting: [`${prodRegistry.host}/team/volb:1`] });

    // the low side writes the lost volume again: same index, new ciphertext
    const before = readFileSync(join(out, volumeFile(lost)));
    const again = await airlock([
      'bundle',
      'export',
      '--channel',
      'qa-to-prod',
      '--config',
      low.config.path,
      '--sequence',
      String(plan.sequence),
      '--volumes',
      String(lost),
    ]);
    expect([again.code, again.stderr]).toEqual([0, '']);
    const rewritten = again.stdout.trim().split('\n')[1];
    expect(readFileSync(rewritten).equals(before)).toBe(false);
    expect((await low.call('GET', '/api/v1/audit/events?action=bundle.volumes.rewritten', low.tokens.dave)).body.items).toHaveLength(1);

    // a copy of it tampered in the middle of the layer: refused, and nothing of volb lands
    const tampered = Buffer.from(readFileSync(rewritten));
    tampered[Math.floor(tampered.length / 2)] ^= 0xff;
    writeFileSync(join(media, volumeFile(lost)), tampered);
    const bad = await airlock(['bundle', 'import', ...files(), '--config', high.config.path, '--receipt-dir', carried]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/BUNDLE_(CORRUPT|DIGEST_MISMATCH|DECRYPT_FAILED|INVALID)/);
    await expect(skopeoRawDigest(`${prodRegistry.host}/team/volb:1`)).rejects.toThrow();
    expect((await fetch(`${prodRegistry.url}/v2/team/volb/manifests/${b.img.digest}`, { method: 'HEAD' })).status).toBe(404);
    expect((await fetch(`${prodRegistry.url}/v2/team/volb/blobs/${b.img.layers[0].digest}`, { method: 'HEAD' })).status).toBe(404);

    // the good one finishes the bundle: every entry checks out, volb lands, the receipt is written
    copyFileSync(rewritten, join(media, volumeFile(lost)));
    const verified = await airlock(['bundle', 'inspect', '--verify', ...files(), '--config', high.config.path]);
    expect(verified.stdout).toMatch(/all present; every entry of those present verified/);
    const done = await airlock(['bundle', 'import', ...files(), '--config', high.config.path, '--receipt-dir', carried]);
    expect([done.code, done.stderr]).toEqual([0, '']);
    expect(await skopeoRawDigest(`${prodRegistry.host}/team/volb:1`)).toBe(b.img.digest);
    expect(high.api.runtime.audit.forPromotion(a.b.body.id).filter((e) => e.action === 'promotion.imported')).toHaveLength(1);
    expect(existsSync(join(carried, `airlock-qa-to-prod-${String(plan.sequence).padStart(6, '0')}.receipt`))).toBe(true);
  });

  it('a release crosses the gap in one bundle and is recorded on the high side, with each of its images', async () => {
    const repos = ['team/rel-web', 'team/rel-api'];
    for (const repo of repos) {
      const dev = low.registries.dev;
      const img = await pushRandomImage({ url: dev.url, host: dev.host }, repo, '1', { layers: [3000] });
      await low.signInStage('dev', repo, img.digest, img.reference);
      const a = await low.call('POST', '/api/v1/promotions', low.tokens.alice, { image: img.reference, from: 'dev', to: 'qa' });
      await low.call('POST', `/api/v1/promotions/${a.body.id}/approve`, low.tokens.bob, {});
      await low.waitFor(a.body.id, low.tokens.alice, ['completed']);
    }
    // a multi-platform image, whole in QA, of which production gets arm64 only
    const dev = low.registries.dev;
    const idx = await pushIndex({ url: dev.url, host: dev.host }, 'team/rel-multi', '1', ['amd64', 'arm64'], { layers: [2500] });
    for (const d of [idx.digest, ...idx.children.map((c) => c.digest)]) await low.signInStage('dev', 'team/rel-multi', d, idx.reference);
    const m = await low.call('POST', '/api/v1/promotions', low.tokens.alice, { image: idx.reference, from: 'dev', to: 'qa' });
    await low.call('POST', `/api/v1/promotions/${m.body.id}/approve`, low.tokens.bob, {});
    await low.waitFor(m.body.id, low.tokens.alice, ['completed']);
    const images = [
      ...repos.map((r) => `${low.registries.qa.host}/${r}:1`),
      { image: `${low.registries.qa.host}/team/rel-multi:1`, platforms: ['linux/arm64'] },
    ];
    const rel = await low.call('POST', '/api/v1/releases', low.tokens.alice, {
      name: 'shop-2.0',
      images,
      from: 'qa',
      to: 'prod',
      reason: 'go live',
    });
    expect(rel.status).toBe(201);
    await low.call('POST', `/api/v1/releases/${rel.body.id}/approve`, low.tokens.bob, {});
    await low.call('POST', `/api/v1/releases/${rel.body.id}/approve`, low.tokens.carol, {});
    for (const i of rel.body.images) await low.waitFor(i.promotionId, low.tokens.alice, ['exporting']);
    const out = join(carried, 'release');
    const ex = await airlock(['bundle', 'export', '--channel', 'qa-to-prod', '--config', low.config.path, '--out', out]);
    expect([ex.code, ex.stderr]).toEqual([0, expect.anything()]);
    expect((await low.call('GET', `/api/v1/releases/${rel.body.id}`, low.tokens.alice)).body.state).toBe('exported');
    const vols = readdirSync(out)
      .filter((f) => f.endsWith('.zip'))
      .map((f) => join(out, f));
    // the operator sees which platforms travel before importing
    const insp = await airlock(['bundle', 'inspect', ...vols, '--config', high.config.path]);
    expect(insp.stdout).toContain(`/team/rel-multi:1 ${idx.digest} (only linux/arm64) requested by alice`);
    const imp = await airlock(['bundle', 'import', ...vols, '--config', high.config.path, '--receipt-dir', out]);
    expect([imp.code, imp.stderr]).toEqual([0, '']);
    // what landed: the subset index; the receipt names no blob of the platform left behind (a later bundle must carry them)
    expect(imp.stdout).toContain(`/team/rel-multi:1@${rel.body.images[2].targetDigest}`);
    const again = await airlock(['bundle', 'import', ...vols, '--config', high.config.path, '--receipt-dir', join(out, 'again')]);
    expect(again.stdout).toContain(`was already imported: `);
    expect(again.stdout).toContain(`/team/rel-multi:1@${rel.body.images[2].targetDigest}`);
    const receiptOf = (dir: string) => readFileSync(join(dir, readdirSync(dir).find((f) => f.endsWith('.receipt')) as string), 'utf8');
    for (const r of [receiptOf(out), receiptOf(join(out, 'again'))]) {
      expect(r).not.toContain(idx.children[0].layers[0].digest);
      expect(r).toContain(idx.children[1].layers[0].digest);
    }
    // the high side knows the release: its name, who asked and why, both images imported
    const there = await high.call('GET', `/api/v1/releases/${rel.body.id}`, high.tokens.dave);
    expect(there.status).toBe(200);
    expect([there.body.name, there.body.requester, there.body.reason, there.body.state]).toEqual([
      'shop-2.0',
      'alice',
      'go live',
      'completed',
    ]);
    expect(there.body.images.map((i: { promotionId: string }) => i.promotionId).sort()).toEqual(
      rel.body.images.map((i: { promotionId: string }) => i.promotionId).sort(),
    );
    const imported = high.api.runtime.audit.forPromotion(rel.body.images[0].promotionId).find((e) => e.action === 'promotion.imported');
    expect(imported?.details.release).toBe(rel.body.id);
    // the chosen platform only: production's tag is the subset index the low side announced, with nothing of amd64, signed with production's key
    const multi = rel.body.images[2];
    expect([multi.digest, multi.platforms]).toEqual([idx.digest, ['linux/arm64']]);
    expect(await skopeoRawDigest(`${prodRegistry.host}/team/rel-multi:1`)).toBe(multi.targetDigest);
    expect(there.body.images[2]).toMatchObject({ digest: idx.digest, targetDigest: multi.targetDigest, platforms: ['linux/arm64'] });
    const head = (path: string) => fetch(`${prodRegistry.url}/v2/team/rel-multi/${path}`, { method: 'HEAD' }).then((x) => x.status);
    expect([await head(`manifests/${idx.children[0].digest}`), await head(`blobs/${idx.children[0].layers[0].digest}`)]).toEqual([
      404, 404,
    ]);
    expect(await head(`manifests/${idx.children[1].digest}`)).toBe(200);
    const v = await airlock([
      'verify',
      `${prodRegistry.host}/team/rel-multi:1`,
      '--key',
      join(high.dir, 'keys/prod.pub'),
      '--lookaside',
      `${high.url}/sigstore/prod`,
      '--insecure',
    ]);
    expect([v.code, v.stderr]).toEqual([0, '']);
    // the receipt back on the low side completes it there too
    const receipt = readdirSync(out).find((f) => f.endsWith('.receipt')) as string;
    const rc = await airlock(['bundle', 'receipt', 'import', join(out, receipt), '--config', low.config.path]);
    expect(rc.code).toBe(0);
    expect((await low.call('GET', `/api/v1/releases/${rel.body.id}`, low.tokens.alice)).body.state).toBe('completed');
  });
});
