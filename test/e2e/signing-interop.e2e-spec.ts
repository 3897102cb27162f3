import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { Sensitive } from '@airlock/common';
import { loadConfig } from '@airlock/common/config';
import { readPrivateKey, readPublicKeys, sign, verify } from '@airlock/signing';
import { createApi, AirlockApi } from '../../apps/api/src/main';
import { startRedis, TestRedis } from '../support/redis';
import { startRegistry, TestRegistry } from '../support/registry';
import { pushIndex, pushRandomImage, PushedImage } from '../support/images';
import { skopeo } from '../support/skopeo';
import { GpgHome } from '../support/gpg';
import { airlock } from '../support/cli';
import { writeConfig } from '../support/airlock-config';
import { freePort } from '../support/ports';

describe('signatures against the real skopeo and gpg', () => {
  let reg: TestRegistry;
  let work: string;
  let api: AirlockApi;
  let redis: TestRedis;
  let apiUrl: string;
  let cfg: Awaited<ReturnType<typeof writeConfig>>;
  let img: PushedImage;
  const gpg = new GpgHome();

  beforeAll(async () => {
    reg = await startRegistry();
    redis = await startRedis();
    work = mkdtempSync(join(tmpdir(), 'airlock-sig-'));
    const port = await freePort();
    apiUrl = `http://127.0.0.1:${port}`;
    cfg = await writeConfig(work, [{ name: 'qa', registry: reg.host }], {
      server: { host: '127.0.0.1', port },
      redis: redis.url,
      database: 'airlock.db',
    });
    api = await createApi(loadConfig(cfg.path), { logger: false });
    await api.listen(port, '127.0.0.1');
    img = await pushRandomImage({ url: reg.url, host: reg.host }, 'team/app', 'v1', { layers: [1000] });
  });
  afterAll(async () => {
    await api?.close();
    await reg?.stop();
    await redis?.stop();
    gpg.close();
    rmSync(work, { recursive: true, force: true });
  });

  const qaKey = () => join(work, 'keys/qa.key');
  const qaPub = () => join(work, 'keys/qa.pub');
  const sigstore = () => join(work, 'sigstore/qa');
  const signEnv = () => ({ AIRLOCK_KEY_PASSPHRASE: cfg.env.AIRLOCK_TEST_QA_PASSPHRASE });

  async function policyDirs(): Promise<{ policy: string; registriesD: string }> {
    const p = join(work, 'policy');
    const d = join(work, 'registries.d');
    mkdirSync(p, { recursive: true });
    const a = await airlock(['policy', '--config', cfg.path, '--stage', 'qa', '--format', 'policy-json']);
    expect(a.stderr).toBe('');
    writeFileSync(join(p, 'policy.json'), a.stdout);
    const b = await airlock(['policy', '--config', cfg.path, '--stage', 'qa', '--format', 'registries-d', '--out', d]);
    expect(b.code).toBe(0);
    return { policy: join(p, 'policy.json'), registriesD: d };
  }

  async function skopeoPull(ref: string, extra: string[] = []): Promise<{ ok: boolean; err: string }> {
    const { policy, registriesD } = await policyDirs();
    try {
      await skopeo([
        '--policy',
        policy,
        '--registries.d',
        registriesD,
        'copy',
        ...extra,
        '--src-tls-verify=false',
        `docker://${ref}`,
        `dir:${join(work, 'pulled-' + Math.random().toString(36).slice(2))}`,
      ]);
      return { ok: true, err: '' };
    } catch (e) {
      return { ok: false, err: (e as Error).message };
    }
  }

  it('skopeo accepts an image signed by airlock, reading the lookaside over HTTP from our API, under our generated policy', async () => {
    const before = await skopeoPull(`${reg.host}/team/app:v1`);
    expect(before.ok).toBe(false);
    expect(before.err).toMatch(/signature|Source image rejected/i);
    const s = await airlock(['sign', `${reg.host}/team/app:v1`, '--key', qaKey(), '--lookaside', sigstore(), '--insecure'], {
      env: signEnv(),
    });
    expect(s.stderr).toBe('');
    expect(s.code).toBe(0);
    expect(s.stdout).toContain(`${img.digest} signature-1 ${reg.host}/team/app:v1 ${cfg.fingerprints.qa}`);
    const after = await skopeoPull(`${reg.host}/team/app:v1`);
    expect(after.err).toBe('');
    expect(after.ok).toBe(true);
    // the same bytes, over HTTP, with long-lived caching
    const r = await request(`${apiUrl}/sigstore/qa/team/app@${img.digest.replace(':', '=')}/signature-1`);
    expect(r.statusCode).toBe(200);
    expect(r.headers['cache-control']).toMatch(/immutable/);
    expect(Buffer.from(await r.body.arrayBuffer())).toEqual(
      readFileSync(join(sigstore(), `team/app@${img.digest.replace(':', '=')}/signature-1`)),
    );
  });

  it('skopeo refuses a signature for another identity, and airlock verify says why', async () => {
    const other = await pushRandomImage({ url: reg.url, host: reg.host }, 'team/other', 'v1', { layers: [100] });
    const s = await airlock(
      [
        'sign',
        `${reg.host}/team/other:v1`,
        '--identity',
        `${reg.host}/team/app:v1`,
        '--key',
        qaKey(),
        '--lookaside',
        sigstore(),
        '--insecure',
      ],
      { env: signEnv() },
    );
    expect(s.code).toBe(0);
    const pulled = await skopeoPull(`${reg.host}/team/other:v1`);
    expect(pulled.ok).toBe(false);
    const v = await airlock([
      'verify',
      `${reg.host}/team/other:v1`,
      '--key',
      qaPub(),
      '--lookaside',
      `${apiUrl}/sigstore/qa`,
      '--insecure',
    ]);
    expect(v.code).toBe(6);
    expect(v.stdout).toContain(`${other.digest} signature-1: SIGNATURE_IDENTITY_MISMATCH`);
  });

  it('signs an index and each platform manifest; skopeo copies one platform and --all', async () => {
    await pushIndex({ url: reg.url, host: reg.host }, 'team/multi', 'v2', ['amd64', 'arm64']);
    const s = await airlock(['sign', `${reg.host}/team/multi:v2`, '--key', qaKey(), '--lookaside', sigstore(), '--insecure'], {
      env: signEnv(),
    });
    expect(s.stdout.trim().split('\n')).toHaveLength(3);
    expect((await skopeoPull(`${reg.host}/team/multi:v2`, ['--override-arch', 'arm64'])).err).toBe('');
    expect((await skopeoPull(`${reg.host}/team/multi:v2`, ['--all'])).err).toBe('');
    const v = await airlock([
      'verify',
      `${reg.host}/team/multi:v2`,
      '--key',
      qaPub(),
      '--lookaside',
      `${apiUrl}/sigstore/qa`,
      '--insecure',
    ]);
    expect(v.code).toBe(0);
    expect(v.stdout.match(/: OK by /g)).toHaveLength(3);
  });

  it('serves 404 (never 500) for what it does not have, including paths that try to leave the store', async () => {
    const hex = img.digest.split(':')[1];
    for (const p of [
      `/sigstore/qa/team/app@sha256=${hex}/signature-99`,
      `/sigstore/nostage/team/app@sha256=${hex}/signature-1`,
      `/sigstore/qa/../keys/qa.key`,
      `/sigstore/qa/%2e%2e/%2e%2e/keys/qa.key`,
      `/sigstore/qa/team/app@sha256=..%2f..%2fkeys/signature-1`,
      `/sigstore/qa/team/app@sha256=${hex}/signature-0`,
      `/sigstore/qa/team/app@sha256=${hex}/signature-1/../../../../keys/qa.key`,
      `/sigstore/qa/team/app@sha256=${hex}`,
      `/sigstore/qa`,
    ]) {
      const r = await request(`${apiUrl}${p}`);
      const body = await r.body.text();
      expect([p, r.statusCode]).toEqual([p, 404]);
      expect(body).not.toContain('PRIVATE');
    }
    const head = await request(`${apiUrl}/sigstore/qa/team/app@sha256=${hex}/signature-1`, { method: 'HEAD' });
    expect(head.statusCode).toBe(200);
  });

  it('answers policy files over the API; a stage without a key is refused, never an open policy', async () => {
    const r = await request(`${apiUrl}/api/v1/stages/qa/policy?format=policy-json`);
    const policy = JSON.parse(await r.body.text());
    expect(policy.default).toEqual([{ type: 'reject' }]);
    expect(policy.transports.docker[reg.host][0]).toMatchObject({ type: 'signedBy', keyType: 'GPGKeys' });
    const all = await request(`${apiUrl}/api/v1/stages/qa/policy?format=all`);
    const files = (await all.body.json()) as { files: { name: string }[] };
    expect(files.files.map((f) => f.name)).toEqual(
      expect.arrayContaining([
        'policy.json',
        'airlock-qa.yaml',
        '51-worker-airlock-qa-signatures.yaml',
        'airlock-qa-clusterimagepolicy.yaml',
      ]),
    );
    const bad = await request(`${apiUrl}/api/v1/stages/qa/policy?format=nope`);
    expect(bad.statusCode).toBe(400);
    expect(((await bad.body.json()) as { error: { code: string } }).error.code).toBe('INVALID_ARGUMENT');
    const unknown = await request(`${apiUrl}/api/v1/stages/nope/policy`);
    expect(unknown.statusCode).toBe(404);
    const dir = mkdtempSync(join(tmpdir(), 'airlock-nokey-'));
    const nk = await writeConfig(dir, [{ name: 'bare', registry: reg.host, withKey: false }]);
    const out = await airlock(['policy', '--config', nk.path, '--stage', 'bare', '--format', 'policy-json']);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/KEY_MISSING: stage bare has no signing key/);
    expect(out.stdout).toBe('');
    rmSync(dir, { recursive: true, force: true });
  });

  it('airlock keys import into gpg 2.2, and gpg --decrypt yields the exact payload of an airlock signature', async () => {
    const k = await gpg.run(['--import', qaPub()]);
    expect(k.code).toBe(0);
    const priv = await gpg.run(['--passphrase', cfg.env.AIRLOCK_TEST_QA_PASSPHRASE, '--import', qaKey()]);
    expect(priv.stderr).toMatch(/secret keys imported: 1/);
    // gpg can unlock and use it with the same passphrase
    const gpgSig = await gpg.run(['--passphrase', cfg.env.AIRLOCK_TEST_QA_PASSPHRASE, '--local-user', cfg.fingerprints.qa, '--sign'], 'x');
    expect(gpgSig.code).toBe(0);
    const sigFile = join(sigstore(), `team/app@${img.digest.replace(':', '=')}/signature-1`);
    const d = await gpg.run(['--status-fd', '2', '--decrypt', sigFile]);
    expect(d.code).toBe(0);
    expect(d.stderr).toContain(`VALIDSIG ${cfg.fingerprints.qa}`);
    const payload = JSON.parse(d.stdout.toString());
    expect(payload.critical).toEqual({
      identity: { 'docker-reference': `${reg.host}/team/app:v1` },
      image: { 'docker-manifest-digest': img.digest },
      type: 'atomic container signature',
    });
    expect(d.stdout.toString().endsWith('}')).toBe(true);
    expect(payload.optional.creator).toMatch(/^airlock /);
  });

  describe('signatures made by skopeo and gpg', () => {
    let fpr: string;
    let pubFile: string;
    let staging: string;
    let regsD: string;
    beforeAll(async () => {
      fpr = await gpg.generate('skopeo signer <s@example.test>');
      pubFile = join(work, 'skopeo-signer.pub');
      writeFileSync(pubFile, await gpg.exportPublic(fpr));
      staging = join(work, 'skopeo-lookaside');
      regsD = join(work, 'skopeo-registries.d');
      mkdirSync(regsD, { recursive: true });
      writeFileSync(
        join(regsD, 'default.yaml'),
        `docker:\n  ${reg.host}:\n    lookaside-staging: file://${staging}\n    lookaside: file://${staging}\n`,
      );
    });

    it('an image signed by skopeo copy --sign-by passes airlock verify', async () => {
      await skopeo(
        [
          '--registries.d',
          regsD,
          'copy',
          '--src-tls-verify=false',
          '--dest-tls-verify=false',
          '--sign-by',
          fpr,
          `docker://${img.reference}`,
          `docker://${reg.host}/signed/by-skopeo:1`,
        ],
        { env: gpg.env },
      );
      const v = await airlock(['verify', `${reg.host}/signed/by-skopeo:1`, '--key', pubFile, '--lookaside', staging, '--insecure']);
      expect(v.stdout).toContain(': OK by ' + fpr);
      expect(v.code).toBe(0);
      // and is refused against another key
      const wrong = await airlock(['verify', `${reg.host}/signed/by-skopeo:1`, '--key', qaPub(), '--lookaside', staging, '--insecure']);
      expect(wrong.code).toBe(6);
      expect(wrong.stdout).toContain('SIGNATURE_UNTRUSTED_KEY');
      // the line that ends it names the most specific refusal, not only that no signature was accepted
      expect(wrong.stderr).toMatch(/^airlock: SIGNATURE_UNTRUSTED_KEY: /);
    });

    it('each refusal has its code in airlock, and skopeo standalone-verify refuses the same input', async () => {
      await gpg.ok(['--import', qaPub()]);
      await gpg.ok(['--passphrase', cfg.env.AIRLOCK_TEST_QA_PASSPHRASE, '--import', qaKey()]);
      const manifest = join(work, 'manifest.json');
      writeFileSync(manifest, img.manifest);
      const ref = `${reg.host}/team/app:v1`;
      const qaPriv = await readPrivateKey(readFileSync(qaKey()), new Sensitive(cfg.env.AIRLOCK_TEST_QA_PASSPHRASE));
      const good = await sign(img.digest, ref, qaPriv);
      const qaPubKeys = await readPublicKeys(readFileSync(qaPub()));
      const file = (name: string, b: Uint8Array | Buffer) => {
        const p = join(work, name);
        writeFileSync(p, b);
        return p;
      };
      const sk = async (sigPath: string, r = ref, fp = cfg.fingerprints.qa, m = manifest) => {
        try {
          await skopeo(['standalone-verify', m, r, fp, sigPath], { env: gpg.env });
          return 'accepted';
        } catch (e) {
          if (process.env.AIRLOCK_TEST_DEBUG) console.log(sigPath, (e as Error).message);
          return 'refused';
        }
      };
      const ours = async (b: Uint8Array, o: { reference?: string; digest?: string; keys?: typeof qaPubKeys } = {}) =>
        verify(b, { trustedKeys: o.keys ?? qaPubKeys, manifestDigest: o.digest ?? img.digest, reference: o.reference ?? ref }).then(
          () => 'OK',
          (e) => e.code,
        );
      expect([await ours(good), await sk(file('good.sig', good))]).toEqual(['OK', 'accepted']);
      const payload = await gpg.ok(['--decrypt', file('good4.sig', good)]);
      // wrong key: the right payload, signed by a key that is not pinned
      const gpgSigned = await gpg.ok(['--local-user', fpr, '--sign'], payload);
      expect([await ours(gpgSigned), await sk(file('other-key.sig', gpgSigned))]).toEqual(['SIGNATURE_UNTRUSTED_KEY', 'refused']);
      // other identity
      expect([
        await ours(good, { reference: `${reg.host}/team/app:v9` }),
        await sk(file('good2.sig', good), `${reg.host}/team/app:v9`),
      ]).toEqual(['SIGNATURE_IDENTITY_MISMATCH', 'refused']);
      // digest mismatch: the signature is for another manifest
      const otherManifest = file('other-manifest.json', Buffer.concat([img.manifest, Buffer.from(' ')]));
      expect([
        await ours(good, { digest: 'sha256:' + 'e'.repeat(64) }),
        await sk(file('good3.sig', good), ref, cfg.fingerprints.qa, otherManifest),
      ]).toEqual(['SIGNATURE_DIGEST_MISMATCH', 'refused']);
      // armored signature file: airlock accepts only the binary form, as containers/image's
      // Go OpenPGP mechanism does; skopeo 1.9.3 as packaged here uses gpgme, which de-armors.
      const armored = await gpg.ok(
        ['--passphrase', cfg.env.AIRLOCK_TEST_QA_PASSPHRASE, '--local-user', cfg.fingerprints.qa, '--armor', '--sign'],
        payload,
      );
      expect([await ours(armored), await sk(file('armored.sig', armored))]).toEqual(['SIGNATURE_FORMAT', 'accepted']);
      // detached signature over the payload, made by gpg with the pinned key
      const detached = await gpg.ok(
        ['--passphrase', cfg.env.AIRLOCK_TEST_QA_PASSPHRASE, '--local-user', cfg.fingerprints.qa, '--detach-sign'],
        payload,
      );
      expect([await ours(detached), await sk(file('detached.sig', detached))]).toEqual(['SIGNATURE_FORMAT', 'refused']);
      // an expired signature made by gpg: a key and a signature made two days ago, the signature valid for one day
      const past = (ms: number) => new Date(Date.now() - ms).toISOString().replace(/[-:]/g, '').slice(0, 15);
      const oldFpr = await gpg.generate('past signer <p@example.test>', 'ed25519', '0', ['--faked-system-time', past(2 * 86400_000)]);
      const oldPub = await readPublicKeys(await gpg.exportPublic(oldFpr));
      const expired = await gpg.ok(
        ['--faked-system-time', past(2 * 86400_000 - 60_000), '--default-sig-expire', '1d', '--local-user', oldFpr, '--sign'],
        payload,
      );
      expect([await ours(expired, { keys: oldPub }), await sk(file('expired.sig', expired), ref, oldFpr)]).toEqual([
        'SIGNATURE_EXPIRED',
        'refused',
      ]);
      const notExpired = await gpg.ok(['--local-user', oldFpr, '--sign'], payload);
      expect([await ours(notExpired, { keys: oldPub }), await sk(file('not-expired.sig', notExpired), ref, oldFpr)]).toEqual([
        'OK',
        'accepted',
      ]);
      // the same payload signed now by gpg with the pinned key is fine for both
      const fresh = await gpg.ok(
        ['--passphrase', cfg.env.AIRLOCK_TEST_QA_PASSPHRASE, '--local-user', cfg.fingerprints.qa, '--sign'],
        payload,
      );
      expect([await ours(fresh), await sk(file('fresh.sig', fresh))]).toEqual(['OK', 'accepted']);
    });
  });

  it('a lookaside folder written by airlock has no temporary files left', () => {
    const walk = (d: string): string[] =>
      readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : [e.name]));
    expect(walk(sigstore()).filter((n) => !/^signature-\d+$/.test(n))).toEqual([]);
  });
});
