import { AirlockError } from '@airlock/common';
import {
  connaisseurValues,
  kyvernoPolicy,
  machineConfig,
  openshiftClusterImagePolicy,
  policyControllerPolicy,
  policyJson,
  portieris,
  registriesD,
} from '@airlock/signing';
import { StageCatalog } from './stage-catalog';

export const POLICY_FORMATS = [
  'policy-json',
  'registries-d',
  'machineconfig',
  'portieris',
  'kyverno',
  'policy-controller',
  'connaisseur',
  'openshift-clusterimagepolicy',
  'all',
] as const;
/** The formats that read cosign signatures from the registry: a stage needs a sigstore key for them. */
const SIGSTORE_FORMATS: readonly PolicyFormat[] = ['kyverno', 'policy-controller', 'connaisseur', 'openshift-clusterimagepolicy'];
export type PolicyFormat = (typeof POLICY_FORMATS)[number];

/** A generated file: its suggested name and content. */
export interface PolicyFile {
  name: string;
  mediaType: string;
  content: string;
}

export const POLICY_DIALECTS = ['both', 'simple', 'sigstore'] as const;

/**
 * Renders the cluster files for a stage in one format (or all of them).
 * `dialect` narrows the keys the files trust: `simple` for clusters whose
 * containers/image has no sigstore support (Debian's skopeo is built without
 * it), `sigstore` for cosign signatures only; `both` (the default) trusts
 * every key the stage has.
 */
export function renderPolicyFiles(catalog: StageCatalog, stage: string, format: string, dialect: string = 'both'): PolicyFile[] {
  if (!(POLICY_FORMATS as readonly string[]).includes(format)) {
    throw new AirlockError(
      'INVALID_ARGUMENT',
      `unknown policy format ${JSON.stringify(String(format).slice(0, 40))}; use one of ${POLICY_FORMATS.join(', ')}`,
    );
  }
  if (!(POLICY_DIALECTS as readonly string[]).includes(dialect))
    throw new AirlockError(
      'INVALID_ARGUMENT',
      `unknown dialect ${JSON.stringify(String(dialect).slice(0, 40))}; use one of ${POLICY_DIALECTS.join(', ')}`,
    );
  const all = catalog.trust(stage);
  const trust = {
    ...all,
    ...(dialect === 'sigstore' ? { publicKeyArmored: undefined } : {}),
    ...(dialect === 'simple' ? { sigstorePublicKeyPem: undefined } : {}),
  };
  if (!trust.publicKeyArmored && !trust.sigstorePublicKeyPem)
    throw new AirlockError(
      'KEY_MISSING',
      `stage ${stage} has no ${dialect === 'simple' ? 'OpenPGP' : 'sigstore'} key; refusing to write a policy that would accept anything`,
    );
  const want = (f: PolicyFormat) => format === 'all' || format === f;
  const files: PolicyFile[] = [];
  if (want('policy-json'))
    files.push({ name: 'policy.json', mediaType: 'application/json', content: JSON.stringify(policyJson([trust]), null, 2) + '\n' });
  if (want('registries-d')) files.push({ name: `airlock-${stage}.yaml`, mediaType: 'application/yaml', content: registriesD([trust]) });
  if (want('machineconfig'))
    files.push({
      name: `51-worker-airlock-${stage}-signatures.yaml`,
      mediaType: 'application/yaml',
      content: machineConfig([trust], `airlock-${stage}`),
    });
  if (want('portieris') && (format === 'portieris' || trust.publicKeyArmored)) {
    // Portieris checks simple signing only
    if (!trust.publicKeyArmored)
      throw new AirlockError(
        'KEY_MISSING',
        `stage ${stage} has no OpenPGP key: Portieris checks simple signing only; use a format for sigstore signatures`,
      );
    const p = portieris([trust], `airlock-${stage}`);
    files.push({ name: `airlock-${stage}-clusterimagepolicy.yaml`, mediaType: 'application/yaml', content: p.policy });
    files.push({ name: `${stage}.pub`, mediaType: 'application/pgp-keys', content: trust.publicKeyArmored });
    files.push({
      name: `create-airlock-${stage}-secret.sh`,
      mediaType: 'text/x-shellscript',
      content: `#!/bin/sh\nset -e\n${p.secretCommands.join('\n')}\n`,
    });
  }
  for (const f of SIGSTORE_FORMATS) {
    // `all` writes what the stage's keys allow; a format named for a stage without a sigstore key is refused, never an open policy
    if (!want(f) || (format === 'all' && !trust.sigstorePublicKeyPem)) continue;
    if (!trust.sigstorePublicKeyPem)
      throw new AirlockError('KEY_MISSING', `stage ${stage} has no sigstore key (stages[].sigstore): ${f} checks cosign signatures only`);
    if (f === 'kyverno')
      files.push({ name: `airlock-${stage}-kyverno-clusterpolicy.yaml`, mediaType: 'application/yaml', content: kyvernoPolicy(trust) });
    if (f === 'policy-controller')
      files.push({
        name: `airlock-${stage}-policy-controller-clusterimagepolicy.yaml`,
        mediaType: 'application/yaml',
        content: policyControllerPolicy(trust),
      });
    if (f === 'connaisseur')
      files.push({ name: `airlock-${stage}-connaisseur-values.yaml`, mediaType: 'application/yaml', content: connaisseurValues(trust) });
    if (f === 'openshift-clusterimagepolicy')
      files.push({
        name: `airlock-${stage}-openshift-clusterimagepolicy.yaml`,
        mediaType: 'application/yaml',
        content: openshiftClusterImagePolicy(trust),
      });
  }
  return files;
}
