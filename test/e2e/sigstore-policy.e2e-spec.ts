import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { writeConfig } from '../support/airlock-config';
import { airlock } from '../support/cli';

/**
 * Policy files for the enforcers that read sigstore signatures, from a
 * configuration whose QA stage holds a sigstore key (and whose dev stage
 * holds none): each parsed back and compared with the project's documented
 * example. No service runs: `airlock policy` reads the configuration and
 * the keys only.
 */
describe('sigstore policy files', () => {
  const work = mkdtempSync(join(tmpdir(), 'airlock-cosign-policy-'));
  let p: { config: { path: string }; dir: string; registries: { qa: { host: string } } };

  beforeAll(async () => {
    const qa = '127.0.0.1:5002';
    const config = await writeConfig(work, [
      { name: 'dev', registry: '127.0.0.1:5001', withKey: false },
      {
        name: 'qa',
        registry: qa,
        sigstore: true,
        from: [{ stage: 'dev', mapping: [{ from: '127.0.0.1:5001/team/*', to: `${qa}/team/*` }] }],
      },
    ]);
    p = { config, dir: work, registries: { qa: { host: qa } } };
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('policy files for a stage with a sigstore key: policy.json requires sigstoreSigned by the key (matchRepository), registries.d reads the attachments', async () => {
    const pol = await airlock(['policy', '--config', p.config.path, '--stage', 'qa', '--format', 'policy-json']);
    const doc = JSON.parse(pol.stdout);
    const reqs = doc.transports.docker[p.registries.qa.host];
    expect(reqs.map((r: { type: string }) => r.type)).toEqual(['signedBy', 'sigstoreSigned']);
    expect(Buffer.from(reqs[1].keyData, 'base64').toString()).toBe(readFileSync(join(p.dir, 'keys', 'qa-sigstore.pub'), 'utf8'));
    expect(reqs[1].signedIdentity).toEqual({ type: 'matchRepository' });
    const rd = parse((await airlock(['policy', '--config', p.config.path, '--stage', 'qa', '--format', 'registries-d'])).stdout);
    expect(rd.docker[p.registries.qa.host]).toEqual({
      lookaside: expect.stringMatching(/\/sigstore\/qa$/),
      'use-sigstore-attachments': true,
    });
  });

  it("policies for the sigstore enforcers, parsed back and compared field by field with each project's documented example; a stage without a sigstore key gets KEY_MISSING", async () => {
    const pem = readFileSync(join(p.dir, 'keys', 'qa-sigstore.pub'), 'utf8');
    const qa = p.registries.qa.host;
    const out = (format: string) => airlock(['policy', '--config', p.config.path, '--stage', 'qa', '--format', format]);
    // Kyverno's sigstore page: ClusterPolicy, webhookConfiguration, background false, a Pod rule whose verifyImages has imageReferences, failureAction and a keys attestor
    const ky = parse((await out('kyverno')).stdout);
    expect([ky.apiVersion, ky.kind, ky.spec.webhookConfiguration, ky.spec.background]).toEqual([
      'kyverno.io/v1',
      'ClusterPolicy',
      { failurePolicy: 'Fail', timeoutSeconds: 30 },
      false,
    ]);
    const rule = ky.spec.rules[0];
    expect(rule.match).toEqual({ any: [{ resources: { kinds: ['Pod'] } }] });
    expect(rule.verifyImages[0]).toMatchObject({
      imageReferences: [`${qa}/*`],
      failureAction: 'Enforce',
      mutateDigest: true,
      verifyDigest: true,
      required: true,
    });
    expect(rule.verifyImages[0].attestors).toEqual([
      { count: 1, entries: [{ keys: { publicKeys: pem.trimEnd(), rekor: { ignoreTlog: true }, ctlog: { ignoreSCT: true } } }] },
    ]);
    // policy-controller (cosign's test data cip-key.yaml): images[].glob, authorities[].key.data; no ctlog, so verified offline
    const pc = parse((await out('policy-controller')).stdout);
    expect([pc.apiVersion, pc.kind, pc.spec.images, pc.spec.authorities]).toEqual([
      'policy.sigstore.dev/v1beta1',
      'ClusterImagePolicy',
      [{ glob: `${qa}/**` }],
      [{ name: 'airlock-qa', key: { data: pem, hashAlgorithm: 'sha256' } }],
    ]);
    // OpenShift config.openshift.io/v1 ClusterImagePolicy: scopes, policy.rootOfTrust (PublicKey, keyData base64 of the PEM), signedIdentity.matchPolicy
    const os = parse((await out('openshift-clusterimagepolicy')).stdout);
    expect([os.apiVersion, os.kind, os.spec]).toEqual([
      'config.openshift.io/v1',
      'ClusterImagePolicy',
      {
        scopes: [qa],
        policy: {
          rootOfTrust: { policyType: 'PublicKey', publicKey: { keyData: Buffer.from(pem).toString('base64') } },
          signedIdentity: { matchPolicy: 'MatchRepository' },
        },
      },
    ]);
    // Connaisseur's chart values (application.validators of type cosign with the key as trust root, application.policy using it without the transparency log)
    const cn = parse((await out('connaisseur')).stdout);
    expect(cn).toEqual({
      application: {
        validators: [{ name: 'airlock-qa', type: 'cosign', trustRoots: [{ name: 'default', key: pem }] }],
        policy: [{ pattern: `${qa}/*:*`, validator: 'airlock-qa', with: { trustRoot: 'default', verifyInTransparencyLog: false } }],
      },
    });
    // all: every format the keys allow
    const all = await airlock([
      'policy',
      '--config',
      p.config.path,
      '--stage',
      'qa',
      '--format',
      'all',
      '--out',
      join(work, 'qa-policies'),
    ]);
    expect(all.stdout).toMatch(
      /kyverno-clusterpolicy\.yaml[\s\S]*policy-controller-clusterimagepolicy\.yaml[\s\S]*connaisseur-values\.yaml[\s\S]*openshift-clusterimagepolicy\.yaml/,
    );
    const noKey = await airlock(['policy', '--config', p.config.path, '--stage', 'dev', '--format', 'kyverno']);
    expect([noKey.code, noKey.stderr]).toEqual([2, expect.stringMatching(/^airlock: KEY_MISSING: /)]);
  });
});
