import { stringify } from 'yaml';
import { IdentityRule } from './identity';

/** What a cluster needs to know about one stage to accept only what that stage signed. */
export interface StageTrust {
  stage: string;
  /** Registry host[:port] the stage's images are pulled from. */
  registry: string;
  /** Scopes inside the registry (`host/ns/repo` or `host/ns`); the whole registry when empty. */
  scopes?: string[];
  /** The stage's OpenPGP public key, armored (simple signing), when it has one. */
  publicKeyArmored?: string;
  /** The stage's sigstore public key, PEM, when it signs in that dialect too. */
  sigstorePublicKeyPem?: string;
  /** Public URL of the stage's lookaside (our /sigstore/<stage>). */
  lookasideUrl: string;
  /** Other names the stage's images are reached under (mirrors): prefix -> the signed prefix. */
  mirrors?: { prefix: string; signedPrefix: string }[];
}

type PolicyRequirement = Record<string, unknown>;

function scopesOf(t: StageTrust): string[] {
  return t.scopes && t.scopes.length ? t.scopes : [t.registry];
}

/** Where key files go when a policy names them by path (the MachineConfig installs them there). */
export interface KeyPaths {
  gpg(stage: string): string;
  sigstore(stage: string): string;
}

/**
 * The requirements for one stage under one identity rule: `signedBy` for its
 * OpenPGP key, `sigstoreSigned` for its sigstore key; a stage with both
 * requires both (containers/image ANDs the list), and airlock writes both.
 * cosign signatures name the repository only, so the sigstore requirement
 * matches by repository where simple signing matches repository and digest
 * or the exact reference.
 */
function requirements(t: StageTrust, identity: IdentityRule, paths?: KeyPaths): PolicyRequirement[] {
  const out: PolicyRequirement[] = [];
  if (t.publicKeyArmored)
    out.push({
      type: 'signedBy',
      keyType: 'GPGKeys',
      ...(paths ? { keyPath: paths.gpg(t.stage) } : { keyData: Buffer.from(t.publicKeyArmored).toString('base64') }),
      signedIdentity: identity,
    });
  if (t.sigstorePublicKeyPem) {
    const sigstoreIdentity: IdentityRule = identity.type === 'matchRepoDigestOrExact' ? { type: 'matchRepository' } : identity;
    out.push({
      type: 'sigstoreSigned',
      ...(paths ? { keyPath: paths.sigstore(t.stage) } : { keyData: Buffer.from(t.sigstorePublicKeyPem).toString('base64') }),
      signedIdentity: sigstoreIdentity,
    });
  }
  return out;
}

/**
 * containers `policy.json`: reject by default; for each scope of each stage,
 * require a signature by each of that stage's keys (keyData, or keyPath when
 * the keys are installed as files); mirrors are accepted through
 * remapIdentity.
 */
export function policyJson(stages: StageTrust[], paths?: KeyPaths): object {
  const docker: Record<string, PolicyRequirement[]> = {};
  for (const t of stages) {
    for (const scope of scopesOf(t)) docker[scope] = requirements(t, { type: 'matchRepoDigestOrExact' }, paths);
    for (const m of t.mirrors ?? [])
      docker[m.prefix] = requirements(t, { type: 'remapIdentity', prefix: m.prefix, signedPrefix: m.signedPrefix }, paths);
  }
  return { default: [{ type: 'reject' }], transports: { docker } };
}

/**
 * A registries.d file pointing each scope (and mirror) at the stage's
 * lookaside URL, and, for a stage that signs with sigstore, telling
 * containers/image to read the signatures attached in the registry.
 */
export function registriesD(stages: StageTrust[]): string {
  const docker: Record<string, { lookaside?: string; 'use-sigstore-attachments'?: boolean }> = {};
  for (const t of stages) {
    const entry = {
      ...(t.publicKeyArmored ? { lookaside: t.lookasideUrl } : {}),
      ...(t.sigstorePublicKeyPem ? { 'use-sigstore-attachments': true } : {}),
    };
    for (const scope of scopesOf(t)) docker[scope] = entry;
    for (const m of t.mirrors ?? []) docker[m.prefix] = entry;
  }
  return stringify({ docker });
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const dataUrl = (s: string) => `data:text/plain;charset=utf-8;base64,${b64(s)}`;

/** Where the MachineConfig installs a stage's keys on the nodes. */
export const nodeKeyPaths: KeyPaths = {
  gpg: (stage) => `/etc/pki/containers/airlock-${stage}.gpg`,
  sigstore: (stage) => `/etc/pki/containers/airlock-${stage}.pub`,
};

/**
 * An OpenShift MachineConfig (worker role) that writes policy.json, the
 * registries.d file and the keys onto every node, as the usual air-gap
 * recipe does by hand. It replaces the nodes' policy.json: every registry the
 * cluster itself pulls from must be listed in the stages or added to it.
 */
export function machineConfig(stages: StageTrust[], name = 'airlock'): string {
  const policy = JSON.stringify(policyJson(stages, nodeKeyPaths), null, 2);
  const files = [
    { path: '/etc/containers/policy.json', contents: policy },
    { path: `/etc/containers/registries.d/${name}.yaml`, contents: registriesD(stages) },
    ...stages.flatMap((t) => [
      ...(t.publicKeyArmored ? [{ path: nodeKeyPaths.gpg(t.stage), contents: t.publicKeyArmored }] : []),
      ...(t.sigstorePublicKeyPem ? [{ path: nodeKeyPaths.sigstore(t.stage), contents: t.sigstorePublicKeyPem }] : []),
    ]),
  ];
  return stringify({
    apiVersion: 'machineconfiguration.openshift.io/v1',
    kind: 'MachineConfig',
    metadata: { name: `51-worker-${name}-signatures`, labels: { 'machineconfiguration.openshift.io/role': 'worker' } },
    spec: {
      config: {
        ignition: { version: '3.2.0' },
        storage: { files: files.map((f) => ({ path: f.path, mode: 0o644, overwrite: true, contents: { source: dataUrl(f.contents) } })) },
      },
    },
  });
}

/** Name of the Kubernetes secret holding a stage's public key for Portieris. */
export const portierisSecretName = (stage: string) => `airlock-${stage}-pubkey`;

/** A Portieris ClusterImagePolicy with `simple` signedBy requirements, and the command that creates the key secret. */
export function portieris(stages: StageTrust[], name = 'airlock'): { policy: string; secretCommands: string[] } {
  const repositories = stages.flatMap((t) =>
    scopesOf(t).map((scope) => ({
      name: scope.includes('/') ? `${scope}*` : `${scope}/*`,
      policy: {
        simple: {
          requirements: [{ type: 'signedBy', keySecret: portierisSecretName(t.stage), signedIdentity: { type: 'matchRepoDigestOrExact' } }],
          storeURL: t.lookasideUrl,
        },
      },
    })),
  );
  return {
    policy: stringify({
      apiVersion: 'portieris.cloud.ibm.com/v1',
      kind: 'ClusterImagePolicy',
      metadata: { name: `${name}-signatures` },
      spec: { repositories },
    }),
    secretCommands: stages.map(
      (t) => `kubectl create secret generic ${portierisSecretName(t.stage)} -n portieris --from-file=key=${t.stage}.pub`,
    ),
  };
}
