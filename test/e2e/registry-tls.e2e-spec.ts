import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { startRegistry, TestRegistry } from '../support/registry';
import { pushRandomImage, PushedImage } from '../support/images';
import { makeCertificates, TestCertificates } from '../support/tls';
import { skopeo, skopeoRawDigest } from '../support/skopeo';
import { airlock } from '../support/cli';
import { startPipeline } from '../support/pipeline';

/** A registry that speaks TLS with a certificate from a private CA, as an air-gapped site's registry does. */
describe('registries over TLS (real docker-registry with a private CA)', () => {
  let certs: TestCertificates;
  let plain: TestRegistry;
  let secure: TestRegistry;
  let work: string;
  let img: PushedImage;
  let agent: Agent;
  /** A folder in the layout of skopeo's --cert-dir and of certs.d/<host>/ */
  let certDir: string;
  let certsD: string;
  beforeAll(async () => {
    certs = makeCertificates();
    [plain, secure] = await Promise.all([startRegistry(), startRegistry({ tls: certs })]);
    work = mkdtempSync(join(tmpdir(), 'airlock-tls-e2e-'));
    certDir = join(work, 'cert-dir');
    mkdirSync(certDir);
    writeFileSync(join(certDir, 'ca.crt'), certs.caPem);
    certsD = join(work, 'certs.d');
    mkdirSync(join(certsD, secure.host), { recursive: true });
    writeFileSync(join(certsD, secure.host, 'ca.crt'), certs.caPem);
    agent = new Agent({ connect: { ca: certs.caPem } });
    img = await pushRandomImage({ url: plain.url, host: plain.host }, 'tls/app', '1', { layers: [2 << 20, 1000] });
  });
  afterAll(async () => {
    await agent?.close();
    await Promise.all([plain?.stop(), secure?.stop()]);
    certs?.remove();
    rmSync(work, { recursive: true, force: true });
  });

  const repositories = async (): Promise<string[]> => {
    const r = await request(`${secure.url}/v2/_catalog`, { dispatcher: agent });
    return ((await r.body.json()) as { repositories: string[] }).repositories;
  };

  it('refuses a certificate it cannot verify, with its own code, and pushes nothing', async () => {
    const r = await airlock(['copy', '--src-insecure', img.reference, `${secure.host}/tls/refused:1`], {
      env: { AIRLOCK_CERTS_D: join(work, 'empty') },
    });
    expect(r.code).toBe(4);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `^airlock: REGISTRY_TLS_UNTRUSTED: registry ${secure.host.replace(/\./g, '\\.')} presented a certificate that is not trusted \\(.*certificate.*\\): trust its CA`,
      ),
    );
    expect(await repositories()).not.toContain('tls/refused');
  });

  it('trusts the CA given with --dest-cert-dir, and skopeo reads the copy with the same CA', async () => {
    const r = await airlock(['copy', '--src-insecure', '--dest-cert-dir', certDir, img.reference, `${secure.host}/tls/app:1`], {
      env: { AIRLOCK_CERTS_D: join(work, 'empty') },
    });
    expect(r.stderr).not.toMatch(/airlock:/);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`${img.digest} ${secure.host}/tls/app:1`);
    const raw = await skopeo(['inspect', '--cert-dir', certDir, '--raw', `docker://${secure.host}/tls/app:1`]);
    expect('sha256:' + createHash('sha256').update(raw).digest('hex')).toBe(img.digest);
  });

  it('finds the CA in certs.d/<host:port>/ as skopeo and podman do, for the source side too', async () => {
    const r = await airlock(['copy', '--dest-insecure', `${secure.host}/tls/app:1`, `${plain.host}/tls/back:1`], {
      env: { AIRLOCK_CERTS_D: certsD },
    });
    expect(r.stderr).not.toMatch(/airlock:/);
    expect(r.code).toBe(0);
    expect(await skopeoRawDigest(`${plain.host}/tls/back:1`)).toBe(img.digest);
  });

  it('speaks TLS without checking the certificate when the registry is marked insecure', async () => {
    const r = await airlock(['copy', '--src-insecure', '--dest-insecure', img.reference, `${secure.host}/tls/insecure:1`], {
      env: { AIRLOCK_CERTS_D: join(work, 'empty') },
    });
    expect(r.code).toBe(0);
    expect(await repositories()).toContain('tls/insecure');
  });

  describe('a registry that asks for a client certificate (mutual TLS)', () => {
    let mtls: TestRegistry;
    let clientDir: string;
    beforeAll(async () => {
      mtls = await startRegistry({ tls: { ...certs, requireClientCert: true } });
      clientDir = join(work, 'client-dir');
      mkdirSync(clientDir);
      writeFileSync(join(clientDir, 'ca.crt'), certs.caPem);
      copyFileSync(certs.clientCertFile, join(clientDir, 'me.cert'));
      copyFileSync(certs.clientKeyFile, join(clientDir, 'me.key'));
    });
    afterAll(() => mtls?.stop());

    it('says it wants one when none is given, even to an insecure client, and pushes nothing', async () => {
      for (const flags of [['--dest-cert-dir', certDir], ['--dest-insecure']]) {
        const r = await airlock(['copy', '--src-insecure', ...flags, img.reference, `${mtls.host}/mtls/refused:1`], {
          env: { AIRLOCK_CERTS_D: join(work, 'empty') },
        });
        expect(r.code).toBe(4);
        expect(r.stderr).toMatch(
          new RegExp(
            `^airlock: REGISTRY_UNAUTHORIZED: registry ${mtls.host.replace(/\./g, '\\.')} asks for a client certificate \\(TLS alert ".+"\\): give one as NAME.cert and NAME.key`,
          ),
        );
      }
      const me = new Agent({
        connect: { ca: certs.caPem, cert: readFileSync(certs.clientCertFile), key: readFileSync(certs.clientKeyFile) },
      });
      const listed = await request(`${mtls.url}/v2/_catalog`, { dispatcher: me });
      expect(((await listed.body.json()) as { repositories: string[] }).repositories).not.toContain('mtls/refused');
      await me.close();
    });

    it('presents NAME.cert and NAME.key from the cert dir, and skopeo reads the copy with the same folder', async () => {
      const r = await airlock(['copy', '--src-insecure', '--dest-cert-dir', clientDir, img.reference, `${mtls.host}/mtls/app:1`], {
        env: { AIRLOCK_CERTS_D: join(work, 'empty') },
      });
      expect(r.stderr).not.toMatch(/airlock:/);
      expect(r.code).toBe(0);
      const raw = await skopeo(['inspect', '--cert-dir', clientDir, '--raw', `docker://${mtls.host}/mtls/app:1`]);
      expect('sha256:' + createHash('sha256').update(raw).digest('hex')).toBe(img.digest);
    });

    it('promotes dev -> a QA registry behind a private CA that asks for a client certificate (registry.caFile and clientCert)', async () => {
      const p = await startPipeline(
        [
          { name: 'dev' },
          {
            name: 'qa',
            from: [{ stage: 'dev', mapping: [{ from: '{dev}/team/*', to: '{qa}/team/*' }] }],
            approvals: { required: 1 },
            registryTls: { caFile: certs.caFile, clientCert: { certFile: certs.clientCertFile, keyFile: certs.clientKeyFile } },
          },
        ],
        { registries: { qa: mtls } },
      );
      try {
        const dev = p.registries.dev;
        const image = await pushRandomImage({ url: dev.url, host: dev.host }, 'team/tls', '1', { layers: [300_000] });
        await p.signInStage('dev', 'team/tls', image.digest, image.reference);
        const ready = await p.call('GET', '/health/ready');
        expect(ready.body.details['registry:qa']).toMatchObject({ status: 'up' });
        const id = (await p.call('POST', '/api/v1/promotions', p.tokens.alice, { image: image.reference, from: 'dev', to: 'qa' })).body.id;
        await p.call('POST', `/api/v1/promotions/${id}/approve`, p.tokens.bob, {});
        const done = await p.waitFor(id, p.tokens.alice, ['completed', 'failed'], 60_000);
        expect([done.state, done.error]).toEqual(['completed', null]);
        const raw = await skopeo(['inspect', '--cert-dir', clientDir, '--raw', `docker://${mtls.host}/team/tls:1`]);
        expect('sha256:' + createHash('sha256').update(raw).digest('hex')).toBe(image.digest);
        // the client key never shows in what the API answers
        const answers = [
          ready.body,
          done,
          (await p.call('GET', '/api/v1/stages', p.tokens.alice)).body,
          await (await request(`${p.url}/metrics`)).body.text(),
        ];
        const keyLine = readFileSync(certs.clientKeyFile, 'utf8').split('\n')[1];
        expect(keyLine.length).toBeGreaterThan(20);
        expect(JSON.stringify(answers)).not.toContain(keyLine);
      } finally {
        await p.stop(); // leaves the describe's registry running: it was handed in
      }
    });

    it("refuses a key that is not the certificate's, before connecting", async () => {
      const bad = join(work, 'bad-pair');
      mkdirSync(bad);
      copyFileSync(certs.clientCertFile, join(bad, 'me.cert'));
      copyFileSync(certs.keyFile, join(bad, 'me.key'));
      const r = await airlock(['copy', '--src-insecure', '--dest-cert-dir', bad, img.reference, `${mtls.host}/mtls/bad:1`]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`airlock: INVALID_ARGUMENT: ${join(bad, 'me.key')} is not the key of ${join(bad, 'me.cert')}`);
    });
  });

  it('says which certificate folder holds no CA, or does not exist', async () => {
    const empty = join(work, 'no-crt');
    mkdirSync(empty);
    const r = await airlock(['copy', '--src-insecure', '--dest-cert-dir', empty, img.reference, `${secure.host}/tls/none:1`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `airlock: INVALID_ARGUMENT: certificate folder ${empty} (for ${secure.host}) holds no *.crt CA certificate and no NAME.cert/NAME.key pair`,
    );
    const missing = await airlock([
      'copy',
      '--src-insecure',
      '--dest-cert-dir',
      join(work, 'nowhere'),
      img.reference,
      `${secure.host}/tls/none:1`,
    ]);
    expect([missing.code, missing.stderr.trim()]).toEqual([
      2,
      `airlock: INVALID_ARGUMENT: certificate folder ${join(work, 'nowhere')} (for ${secure.host}) does not exist`,
    ]);
    expect(await repositories()).not.toContain('tls/none');
  });
});
