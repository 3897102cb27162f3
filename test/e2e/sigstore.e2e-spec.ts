import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPipeline, Pipeline } from '../support/pipeline';
import { pushIndex, pushRandomImage } from '../support/images';
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
import { RegistrySigstoreStore } from '@airlock/promotion';
import { generateSigstoreKeyPair, readSigstorePrivateKey, readSigstorePublicKey, signSigstore } from '@airlock/signing';
import { Sensitive } from '@airlock/common';
import { createPublicKey } from 'node:crypto';
import { bundleFromJSON } from '@sigstore/bundle';
import { Verifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify';

/**
 * The sigstore dialect through a real pipeline: dev's image signed the way a
 * CI job signs with cosign (openssl signatures, the tag form pushed by code
 * of the test's own), verified with the sigstore key QA pins for dev; QA
 * re-signs in both dialects (its simple signature in its lookaside, its
 * cosign signature in its registry, which openssl verifies with QA's key).
 */
describe('sigstore (cosign) signatures in the pipeline', () => {
  let p: Pipeline;
  const work = mkdtempSync(join(tmpdir(), 'airlock-cosign-'));
  let ci: { key: string; pub: string };
  let other: { key: string; pub: string };

  beforeAll(async () => {
    ci = opensslKeyPair(work, 'ci');
    other = opensslKeyPair(work, 'other');
    p = await startPipeline([
      { name: 'dev', withKey: false },
      {
        name: 'qa',
        sigstore: true,
        sigstoreAttach: 'both',
        from: [{ stage: 'dev', trustedKeys: [ci.pub], mapping: [{ from: '{dev}/team/*', to: '{qa}/team/*' }] }],
        approvals: { required: 1 },
      },
    ]);
  }, 120_000);
  afterAll(async () => {
    await p?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  const promote = async (reference: string) => {
    const r = await p.call('POST', '/api/v1/promotions', p.tokens.alice, { image: reference, from: 'dev', to: 'qa' });
    expect(r.status).toBe(201);
    await p.call('POST', `/api/v1/promotions/${r.body.id}/approve`, p.tokens.bob, {});
    return p.waitFor(r.body.id, p.tokens.alice, ['completed', 'failed']);
  };

  it('accepts what CI signed with a cosign key, and QA signs in both dialects: openssl verifies its cosign signature with QA key', async () => {
    const dev = p.registries.dev;
    const qa = p.registries.qa;
    const img = await pushRandomImage({ url: dev.url, host: dev.host }, 'team/app', '1', { layers: [20_000] });
    await attachCosignSignatures(dev.url, 'team/app', img.digest, [
      {
        payload: cosignPayload(`${dev.host}/team/app`, img.digest),
        signature: opensslSign(ci.key, cosignPayload(`${dev.host}/team/app`, img.digest), work),
      },
    ]);
    const done = await promote(img.reference);
    expect([done.state, done.error]).toEqual(['completed', null]);
    // QA's signature tag holds CI's signature (attachments travel with the image) and QA's own, appended
    const sigs = await readCosignSignatures(qa.url, 'team/app', img.digest);
    expect(sigs).toHaveLength(2);
    expect(opensslVerify(ci.pub, sigs[0].payload, sigs[0].signature, work)).toBe(true);
    expect(JSON.parse(sigs[1].payload.toString())).toEqual({
      critical: {
        identity: { 'docker-reference': `${qa.host}/team/app` },
        image: { 'docker-manifest-digest': img.digest },
        type: 'cosign container image signature',
      },
      optional: null,
    });
    expect(opensslVerify(join(p.dir, 'keys', 'qa-sigstore.pub'), sigs[1].payload, sigs[1].signature, work)).toBe(true);
    expect(opensslVerify(ci.pub, sigs[1].payload, sigs[1].signature, work)).toBe(false);
    // promoted again: QA signs again and its write finds the signature it made the first time (no second one)
    const again = await promote(img.reference);
    expect([again.state, again.error]).toEqual(['completed', null]);
    expect((await readCosignSignatures(qa.url, 'team/app', img.digest)).map((x) => x.signature)).toEqual(sigs.map((x) => x.signature));
    // the referrer form too (QA attaches both): docker-registry 2.8 has no referrers API, so the tag-schema fallback index lists it, and sigstore-js verifies its bundle with QA's key
    const index = (await (
      await fetch(`${qa.url}/v2/team/app/manifests/${img.digest.replace(':', '-')}`, {
        headers: { accept: 'application/vnd.oci.image.index.v1+json' },
      })
    ).json()) as { manifests: { digest: string; artifactType: string }[] };
    expect(index.manifests.map((m: { artifactType: string }) => m.artifactType)).toEqual(['application/vnd.dev.sigstore.bundle.v0.3+json']);
    const referrer = (await (
      await fetch(`${qa.url}/v2/team/app/manifests/${index.manifests[0].digest}`, {
        headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
      })
    ).json()) as { subject: { digest: string }; layers: { digest: string }[] };
    expect(referrer.subject.digest).toBe(img.digest);
    const bundle = JSON.parse(
      Buffer.from(await (await fetch(`${qa.url}/v2/team/app/blobs/${referrer.layers[0].digest}`)).arrayBuffer()).toString(),
    );
    const qaPem = readFileSync(join(p.dir, 'keys', 'qa-sigstore.pub'), 'utf8');
    const root = {
      mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      tlogs: [],
      certificateAuthorities: [],
      ctlogs: [],
      timestampAuthorities: [],
    };
    const trust = toTrustMaterial(root, () => ({ publicKey: createPublicKey(qaPem), validFor: () => true }));
    expect(() =>
      new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 }).verify(toSignedEntity(bundleFromJSON(bundle))),
    ).not.toThrow();
    // simple signing too, in QA's lookaside; the audit names the key that vouched (the fingerprint of the CI key's DER)
    expect(readFileSync(join(p.dir, 'sigstore', 'qa', `team/app@${img.digest.replace(':', '=')}`, 'signature-1')).length).toBeGreaterThan(
      0,
    );
    const history = (await p.call('GET', `/api/v1/promotions/${done.id}/history`, p.tokens.dave)).body.events;
    const verify = history.find(
      (e: { action: string; details: { step: string } }) => e.action === 'step.finished' && e.details.step === 'verify',
    );
    expect(verify.details.keys).toEqual([expect.stringMatching(/^[0-9a-f]{64}$/)]);
    // the verify CLI reads the registry for a sigstore key
    const v = await airlock(['verify', `${qa.host}/team/app:1`, '--key', join(p.dir, 'keys', 'qa-sigstore.pub'), '--insecure']);
    expect([v.code, v.stdout]).toEqual([0, expect.stringMatching(/sigstore-2: OK by [0-9a-f]{64} as .*team\/app/)]); // sigstore-1 is CI's, carried along
  });

  it('an index CI signed at the top only is accepted, as cosign verify accepts it; QA signs the index and every platform manifest (cosign sign --recursive)', async () => {
    const dev = p.registries.dev;
    const qa = p.registries.qa;
    const idx = await pushIndex({ url: dev.url, host: dev.host }, 'team/multi', '1', ['amd64', 'arm64'], { layers: [500] });
    const payload = cosignPayload(`${dev.host}/team/multi`, idx.digest);
    await attachCosignSignatures(dev.url, 'team/multi', idx.digest, [{ payload, signature: opensslSign(ci.key, payload, work) }]);
    const done = await promote(idx.reference);
    expect([done.state, done.error]).toEqual(['completed', null]);
    for (const d of [idx.digest, ...idx.children.map((c) => c.digest)]) {
      const mine = (await readCosignSignatures(qa.url, 'team/multi', d)).filter((l) =>
        opensslVerify(join(p.dir, 'keys', 'qa-sigstore.pub'), l.payload, l.signature, work),
      );
      expect([d, mine.length]).toEqual([d, 1]);
    }
    // a platform manifest signed alone does not stand for the index
    const idx2 = await pushIndex({ url: dev.url, host: dev.host }, 'team/multi2', '1', ['amd64', 'arm64'], { layers: [500] });
    const child = idx2.children[0].digest;
    const p2 = cosignPayload(`${dev.host}/team/multi2`, child);
    await attachCosignSignatures(dev.url, 'team/multi2', child, [{ payload: p2, signature: opensslSign(ci.key, p2, work) }]);
    const refused = await promote(idx2.reference);
    expect([refused.state, refused.error?.code]).toEqual(['failed', 'SIGNATURE_REQUIRED']);
  });

  it('refuses, each with its code and nothing landed in QA: unsigned, another key, keyless, another digest, a payload too large', async () => {
    const dev = p.registries.dev;
    const qa = p.registries.qa;
    const cases: [string, (repo: string, digest: string) => Promise<void>, string][] = [
      ['unsigned', async () => undefined, 'SIGNATURE_REQUIRED'],
      [
        'another key',
        async (repo, digest) =>
          attachCosignSignatures(dev.url, repo, digest, [
            {
              payload: cosignPayload(`${dev.host}/${repo}`, digest),
              signature: opensslSign(other.key, cosignPayload(`${dev.host}/${repo}`, digest), work),
            },
          ]),
        'SIGNATURE_UNTRUSTED_KEY',
      ],
      [
        'keyless',
        async (repo, digest) =>
          attachCosignSignatures(dev.url, repo, digest, [
            {
              payload: cosignPayload(`${dev.host}/${repo}`, digest),
              signature: opensslSign(ci.key, cosignPayload(`${dev.host}/${repo}`, digest), work),
              annotations: { 'dev.sigstore.cosign/certificate': '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' },
            },
          ]),
        'SIGNATURE_KEYLESS_UNSUPPORTED',
      ],
      [
        'signed for another digest',
        async (repo, digest) => {
          const payload = cosignPayload(`${dev.host}/${repo}`, 'sha256:' + '0'.repeat(64));
          await attachCosignSignatures(dev.url, repo, digest, [{ payload, signature: opensslSign(ci.key, payload, work) }]);
        },
        'SIGNATURE_DIGEST_MISMATCH',
      ],
      [
        'a payload declared larger than 1 MiB',
        async (repo, digest) => {
          const payload = cosignPayload(`${dev.host}/${repo}`, digest);
          await attachCosignSignatures(dev.url, repo, digest, [
            { payload, signature: opensslSign(ci.key, payload, work), declaredSize: 2 << 20 },
          ]);
        },
        'SIGNATURE_TOO_LARGE',
      ],
    ];
    for (const [i, [what, sign, code]] of cases.entries()) {
      const repo = `team/refused${i}`;
      const img = await pushRandomImage({ url: dev.url, host: dev.host }, repo, '1', { layers: [1000] });
      await sign(repo, img.digest);
      const r = await promote(img.reference);
      // the message rides along, so that a wrong code says what happened (once, under a loaded CI run, INTERNAL came instead of the keyless refusal)
      expect([what, r.state, r.error?.code === code ? code : `${r.error?.code}: ${r.error?.message}`]).toEqual([what, 'failed', code]);
      const tags = await fetch(`${qa.url}/v2/${repo}/tags/list`);
      expect([what, tags.status]).toEqual([what, 404]);
    }
  });

  it('the CLI: keys generate --format sigstore, keys show, sign into the registry as cosign does, verify (openssl agrees)', async () => {
    const dev = p.registries.dev;
    const env = { AIRLOCK_KEY_PASSPHRASE: 'cli-pass' };
    const g = await airlock(['keys', 'generate', '--name', 'cli', '--out', work, '--format', 'sigstore'], { env });
    expect(g.code).toBe(0);
    const fingerprint = g.stdout.split(' ')[0];
    expect(readFileSync(join(work, 'cli.key'), 'utf8')).toMatch(/^-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----/);
    expect((await airlock(['keys', 'show', join(work, 'cli.pub')])).stdout).toMatch(
      new RegExp(`kind: +sigstore[\\s\\S]*fingerprint: ${fingerprint}`),
    );
    const img = await pushRandomImage({ url: dev.url, host: dev.host }, 'team/cli', '1', { layers: [100] });
    const signed = await airlock(['sign', img.reference, '--key', join(work, 'cli.key'), '--insecure'], { env });
    expect([signed.code, signed.stdout]).toEqual([0, `${img.digest} sigstore-1 ${dev.host}/team/cli ${fingerprint}\n`]);
    const [layer] = await readCosignSignatures(dev.url, 'team/cli', img.digest);
    expect(opensslVerify(join(work, 'cli.pub'), layer.payload, layer.signature, work)).toBe(true);
    expect((await airlock(['verify', img.reference, '--key', join(work, 'cli.pub'), '--insecure'])).code).toBe(0);
    // the referrer form from the CLI (cosign 3's default), read back by verify
    const ref = await airlock(['sign', img.reference, '--key', join(work, 'cli.key'), '--insecure', '--attach', 'referrer'], { env });
    expect([ref.code, ref.stdout]).toEqual([0, `${img.digest} referrer-1 ${dev.host}/team/cli ${fingerprint}\n`]);
    expect((await airlock(['verify', img.reference, '--key', join(work, 'cli.pub'), '--insecure'])).stdout).toMatch(/sigstore-2: OK by/);
    const refused = await airlock(['verify', img.reference, '--key', other.pub, '--insecure']);
    expect([refused.code, refused.stderr]).toEqual([6, expect.stringMatching(/^airlock: SIGNATURE_UNTRUSTED_KEY: .*sigstore-1/)]);
  });

  it("attachments travel: CI's signature, an attestation and an SBOM attached in dev reach QA with the image; airlock copy carries them unless --no-attachments", async () => {
    const dev = p.registries.dev;
    const qa = p.registries.qa;
    const img = await pushRandomImage({ url: dev.url, host: dev.host }, 'team/prov', '1', { layers: [2000] });
    const payload = cosignPayload(`${dev.host}/team/prov`, img.digest);
    await attachCosignSignatures(dev.url, 'team/prov', img.digest, [{ payload, signature: opensslSign(ci.key, payload, work) }]);
    const attach = (kind: string, mediaType: string, body: string) => attachTagged(dev.url, 'team/prov', img.digest, kind, mediaType, body);
    const att = await attach(
      'att',
      'application/vnd.dsse.envelope.v1+json',
      '{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[]}',
    );
    const sbom = await attach('sbom', 'application/spdx+json', '{"spdxVersion":"SPDX-2.3"}');
    // and an OCI 1.1 referrer (an SBOM another tool attached), listed in the referrers tag fallback: the registry has no referrers API
    const refSbom = await attach('ref-tmp', 'application/spdx+json', '{"spdxVersion":"SPDX-2.3","name":"referrer"}');
    const refManifest = (await (
      await fetch(`${dev.url}/v2/team/prov/manifests/${refSbom}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })
    ).json()) as Record<string, unknown>;
    const withSubject = JSON.stringify({
      ...refManifest,
      artifactType: 'application/spdx+json',
      subject: { mediaType: img.mediaType, digest: img.digest, size: img.manifest.length },
    });
    const put = await fetch(`${dev.url}/v2/team/prov/manifests/sbom-referrer`, {
      method: 'PUT',
      body: withSubject,
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    });
    const referrerDigest = put.headers.get('docker-content-digest') as string;
    const fallback = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: referrerDigest,
          size: Buffer.byteLength(withSubject),
          artifactType: 'application/spdx+json',
        },
      ],
    });
    expect(
      (
        await fetch(`${dev.url}/v2/team/prov/manifests/${img.digest.replace(':', '-')}`, {
          method: 'PUT',
          body: fallback,
          headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' },
        })
      ).status,
    ).toBe(201);
    const done = await promote(img.reference);
    expect([done.state, done.error]).toEqual(['completed', null]);
    const head = async (url: string, repo: string, tag: string) =>
      (
        await fetch(`${url}/v2/${repo}/manifests/${tag}`, {
          method: 'HEAD',
          headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
        })
      ).headers.get('docker-content-digest');
    const tagOf = (kind: string) => `${img.digest.replace(':', '-')}.${kind}`;
    expect([await head(qa.url, 'team/prov', tagOf('att')), await head(qa.url, 'team/prov', tagOf('sbom'))]).toEqual([att, sbom]);
    expect(
      (await readCosignSignatures(qa.url, 'team/prov', img.digest)).map((l) => opensslVerify(ci.pub, l.payload, l.signature, work)),
    ).toEqual([true, false]);
    const steps = (await p.call('GET', `/api/v1/promotions/${done.id}`, p.tokens.alice)).body.steps;
    expect(steps.find((x: { name: string }) => x.name === 'copy').detail.attachments).toBe(3); // .att, .sbom and the referrer; CI's .sig layers travel with QA's signature, in its one write
    // the referrer came along, and QA's own bundle (it attaches both forms) sits beside it in QA's referrers
    const qaReferrers = (await (
      await fetch(`${qa.url}/v2/team/prov/manifests/${img.digest.replace(':', '-')}`, {
        headers: { accept: 'application/vnd.oci.image.index.v1+json' },
      })
    ).json()) as { manifests: { digest: string; artifactType: string }[] };
    expect(qaReferrers.manifests.map((m) => m.artifactType)).toEqual([
      'application/spdx+json',
      'application/vnd.dev.sigstore.bundle.v0.3+json',
    ]);
    expect(qaReferrers.manifests[0].digest).toBe(referrerDigest);
    expect(await head(qa.url, 'team/prov', referrerDigest)).toBe(referrerDigest);
    // airlock copy: with them by default, without them on request
    const c1 = await airlock(['copy', '--src-insecure', '--dest-insecure', '--json', img.reference, `${qa.host}/mirror/prov:1`]);
    expect(JSON.parse(c1.stdout).attachments).toEqual(['sig', 'att', 'sbom', 'referrers']);
    expect(await head(qa.url, 'mirror/prov', tagOf('sbom'))).toBe(sbom);
    const c2 = await airlock([
      'copy',
      '--src-insecure',
      '--dest-insecure',
      '--no-attachments',
      '--json',
      img.reference,
      `${qa.host}/bare/prov:1`,
    ]);
    expect(JSON.parse(c2.stdout).attachments).toEqual([]);
    expect(await head(qa.url, 'bare/prov', tagOf('sig'))).toBeNull();
  });

  it('two writers adding signatures to one image at once: both stay (read, append, write, read again)', async () => {
    const qa = p.registries.qa;
    const img = await pushRandomImage({ url: qa.url, host: qa.host }, 'team/both', '1', { layers: [100] });
    const store = new RegistrySigstoreStore(p.api.runtime.registries.client(qa.host));
    const keys = [0, 1, 2, 3].map(() => readSigstorePrivateKey(generateSigstoreKeyPair(new Sensitive('x')).privatePem, new Sensitive('x')));
    const sigs = keys.map((k) => signSigstore(img.digest, `${qa.host}/team/both`, k));
    const results = await Promise.all(sigs.map((s) => store.add('team/both', img.digest, s)));
    expect(results.every((r) => r.added)).toBe(true);
    const layers = await readCosignSignatures(qa.url, 'team/both', img.digest);
    expect(layers.map((l) => l.signature).sort()).toEqual(sigs.map((s) => s.signature).sort());
    // adding one that is there changes nothing
    expect(await store.add('team/both', img.digest, sigs[2])).toEqual({ n: expect.any(Number), added: false });
    expect(await readCosignSignatures(qa.url, 'team/both', img.digest)).toHaveLength(4);
    // signing again gives other bytes (ECDSA); with the key named, its signature over the same payload counts as there
    const again = signSigstore(img.digest, `${qa.host}/team/both`, keys[1]);
    expect(again.signature).not.toBe(sigs[1].signature);
    const own = readSigstorePublicKey(createPublicKey(keys[1]).export({ type: 'spki', format: 'pem' }));
    expect(await store.add('team/both', img.digest, again, [], own)).toEqual({ n: expect.any(Number), added: false });
    expect(await readCosignSignatures(qa.url, 'team/both', img.digest)).toHaveLength(4);
    // named with a key that has signed nothing here, the same signature is not found: added
    const fifth = readSigstorePrivateKey(generateSigstoreKeyPair(new Sensitive('x')).privatePem, new Sensitive('x'));
    const stranger = readSigstorePublicKey(createPublicKey(fifth).export({ type: 'spki', format: 'pem' }));
    expect(await store.add('team/both', img.digest, again, [], stranger)).toEqual({ n: 5, added: true });
  });
});
