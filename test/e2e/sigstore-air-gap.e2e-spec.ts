import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPipeline, Pipeline } from '../support/pipeline';
import { startRegistry, TestRegistry } from '../support/registry';
import { pushRandomImage } from '../support/images';
import { airlock } from '../support/cli';
import {
  attachCosignSignatures,
  attachTagged,
  cosignPayload,
  opensslKeyPair,
  opensslSign,
  opensslVerify,
  readCosignSignatures,
} from '../support/cosign-craft';
import { nameLowQa } from '../support/air-gap';

/**
 * The dialect across the gap: QA and production pin only sigstore keys for
 * the stage before them, so every check on the way reads cosign signatures:
 * the low side's promotion to production (QA's registry), the bundle (which
 * carries them), the high side's import; production re-signs in both.
 */
describe('sigstore signatures across the air gap', () => {
  let low: Pipeline;
  let high: Pipeline;
  let prodRegistry: TestRegistry;
  const work = mkdtempSync(join(tmpdir(), 'airlock-cosign-gap-'));
  let attestation: string;

  beforeAll(async () => {
    prodRegistry = await startRegistry();
    high = await startPipeline(
      [
        { name: 'qa', withKey: false },
        {
          name: 'prod',
          sigstore: true,
          from: [{ stage: 'qa', trustedKeys: ['keys/qa-cosign-low.pub'], mapping: [{ from: 'QAHOST/team/*', to: '{prod}/team/*' }] }],
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
    const ci = opensslKeyPair(work, 'ci');
    low = await startPipeline(
      [
        { name: 'dev', withKey: false },
        {
          name: 'qa',
          sigstore: true,
          from: [{ stage: 'dev', trustedKeys: [ci.pub], mapping: [{ from: '{dev}/team/*', to: '{qa}/team/*' }] }],
          approvals: { required: 1 },
        },
        {
          name: 'prod',
          withKey: false,
          transport: 'bundle',
          from: [{ stage: 'qa', trustedKeys: ['keys/qa-sigstore.pub'], mapping: [{ from: '{qa}/team/*', to: '{prod}/team/*' }] }],
          approvals: { required: 1 },
        },
      ],
      {
        registries: { prod: prodRegistry },
        extra: () => ({
          channels: [{ name: 'qa-to-prod', from: 'qa', to: 'prod', encrypt: true, recipients: [join(high.dir, 'keys', 'prod.pub')] }],
        }),
      },
    );
    copyFileSync(join(low.dir, 'keys', 'qa.pub'), join(high.dir, 'keys', 'qa-sender.pub'));
    copyFileSync(join(low.dir, 'keys', 'qa-sigstore.pub'), join(high.dir, 'keys', 'qa-cosign-low.pub'));
    nameLowQa(high, low.registries.qa.host);
    await high.restartApi();
    // what CI signed
    const dev = low.registries.dev;
    const img = await pushRandomImage({ url: dev.url, host: dev.host }, 'team/gap', '1', { layers: [50_000] });
    const payload = cosignPayload(`${dev.host}/team/gap`, img.digest);
    await attachCosignSignatures(dev.url, 'team/gap', img.digest, [{ payload, signature: opensslSign(ci.key, payload, work) }]);
    // and an attestation CI attached: it travels to QA, into the bundle and into production
    attestation = await attachTagged(
      dev.url,
      'team/gap',
      img.digest,
      'att',
      'application/vnd.dsse.envelope.v1+json',
      '{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[]}',
    );
  }, 180_000);
  afterAll(async () => {
    await low?.stop();
    await high?.stop();
    await prodRegistry?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('dev (cosign in CI) -> QA -> bundle -> production, each check on cosign signatures, production signing in both dialects', async () => {
    const promote = async (image: string, from: string, to: string, until: string[]) => {
      const r = await low.call('POST', '/api/v1/promotions', low.tokens.alice, { image, from, to });
      expect(r.status).toBe(201);
      await low.call('POST', `/api/v1/promotions/${r.body.id}/approve`, low.tokens.bob, {});
      return low.waitFor(r.body.id, low.tokens.alice, until);
    };
    const qa = await promote(`${low.registries.dev.host}/team/gap:1`, 'dev', 'qa', ['completed', 'failed']);
    expect([qa.state, qa.error]).toEqual(['completed', null]);
    const toProd = await promote(`${low.registries.qa.host}/team/gap:1`, 'qa', 'prod', ['exporting', 'failed']);
    expect([toProd.state, toProd.error]).toEqual(['exporting', null]);
    const out = join(work, 'bundle');
    const ex = await airlock(['bundle', 'export', '--channel', 'qa-to-prod', '--config', low.config.path, '--out', out]);
    expect(ex.code).toBe(0);
    const imp = await airlock([
      'bundle',
      'import',
      ...readdirSync(out).map((f) => join(out, f)),
      '--config',
      high.config.path,
      '--receipt-dir',
      work,
    ]);
    expect([imp.code, imp.stderr]).toEqual([0, '']);
    const digest = qa.digest as string;
    // production's signature tag holds CI's and QA's signatures (carried as attachments) and its own, appended; the attestation came along
    const sigs = await readCosignSignatures(prodRegistry.url, 'team/gap', digest);
    expect(sigs.map((l) => JSON.parse(l.payload.toString()).critical.identity['docker-reference'])).toEqual([
      `${low.registries.dev.host}/team/gap`,
      `${low.registries.qa.host}/team/gap`,
      `${prodRegistry.host}/team/gap`,
    ]);
    expect(opensslVerify(join(high.dir, 'keys', 'prod-sigstore.pub'), sigs[2].payload, sigs[2].signature, work)).toBe(true);
    const att = await fetch(`${prodRegistry.url}/v2/team/gap/manifests/${digest.replace(':', '-')}.att`, {
      method: 'HEAD',
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    expect(att.headers.get('docker-content-digest')).toBe(attestation);
    expect(readdirSync(join(high.dir, 'sigstore', 'prod', `team/gap@${digest.replace(':', '=')}`))).toEqual(['signature-1']);
    // the import checked what the bundle carried with the key the high side pins (the QA sigstore key's fingerprint)
    const verify = high.api.runtime.audit.forPromotion(toProd.id).find((e) => e.action === 'promotion.imported');
    expect(verify).toBeDefined();
    const steps = (await high.call('GET', `/api/v1/promotions/${toProd.id}`, high.tokens.dave)).body.steps;
    expect(steps.find((s: { name: string }) => s.name === 'verify').detail.keys).toEqual([expect.stringMatching(/^[0-9a-f]{64}$/)]);
  });
});
