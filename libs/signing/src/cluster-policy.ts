import { stringify } from 'yaml';
import { IdentityRule } from './identity';

/** What a cluster needs to know about one stage to accept only what that stage signed. */
export interface StageTrust {
  stage: string;
  /** Registry host[:port] the stage's images are pulled from. */
  registry: string;
  /** Scopes inside the registry (`host/ns/repo` or `host/ns`); the whole registry when empty. */
  scopes?: string[];
  /** The stage's public key, armored. */
  publicKeyArmored: string;
  /** Public URL of the stage's lookaside (our /sigstore/<stage>). */
  lookasideUrl: string;
  /** Other names the stage's images are reached under (mirrors): prefix -> the signed prefix. */
  mirrors?: { prefix: string; signedPrefix: string }[];
}

type PolicyRequirement = Record<string, unknown>;

function scopesOf(t: StageTrust): string[] {
  return t.scopes && t.scopes.length ? t.scopes : [t.registry];
}

function signedBy(key: { keyData?: string; keyPath?: string }, identity?: IdentityRule): PolicyRequirement {
  return { type: 'signedBy', keyType: 'GPGKeys', ...key, ...(identity ? { signedIdentity: identity } : {}) };
}

/**
 * containers `policy.json`: reject by default; for each scope of each stage,
 * require a signature by that stage's key (keyData, or keyPath when the key
 * is installed as a file); mirrors are accepted through remapIdentity.
 */
export function policyJson(stages: StageTrust[], keyPathOf?: (stage: string) => string): object {
  const docker: Record<string, PolicyRequirement[]> = {};
  for (const t of stages) {
    const key = keyPathOf ? { keyPath: keyPathOf(t.stage) } : { keyData: Buffer.from(t.publicKeyArmored).toString('base64') };
    for (const scope of scopesOf(t)) docker[scope] = [signedBy(key, { type: 'matchRepoDigestOrExact' })];
    for (const m of t.mirrors ?? []) docker[m.prefix] = [signedBy(key, { type: 'remapIdentity', prefix: m.prefix, signedPrefix: m.signedPrefix })];
  }
  return { default: [{ type: 'reject' }], transports: { docker } };
}

/** A registries.d file pointing each scope (and mirror) at the stage's lookaside URL. */
export function registriesD(stages: StageTrust[]): string {
  const docker: Record<string, { lookaside: string }> = {};
  for (const t of stages) {
    for (const scope of scopesOf(t)) docker[scope] = { lookaside: t.lookasideUrl };
    for (const m of t.mirrors ?? []) docker[m.prefix] = { lookaside: t.lookasideUrl };
  }
  return stringify({ docker });
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const dataUrl = (s: string) => `data:text/plain;charset=utf-8;base64,${b64(s)}`;

/** Where the MachineConfig installs a stage's key on the nodes. */
export const nodeKeyPath = (stage: string) => `/etc/pki/containers/airlock-${stage}.gpg`;

/**
 * An OpenShift MachineConfig (worker role) that writes policy.json, the
 * registries.d file and the keys onto every node, as the usual air-gap
 * recipe does by hand. It replaces the nodes' policy.json: every registry the
 * cluster itself pulls from must be listed in the stages or added to it.
 */
export function machineConfig(stages: StageTrust[], name = 'airlock'): string {
  const policy = JSON.stringify(policyJson(stages, nodeKeyPath), null, 2);
  const files = [
    { path: '/etc/containers/policy.json', contents: policy },
    { path: `/etc/containers/registries.d/${name}.yaml`, contents: registriesD(stages) },
    ...stages.map((t) => ({ path: nodeKeyPath(t.stage), contents: t.publicKeyArmored })),
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
    policy: stringify({ apiVersion: 'portieris.cloud.ibm.com/v1', kind: 'ClusterImagePolicy', metadata: { name: `${name}-signatures` }, spec: { repositories } }),
    secretCommands: stages.map((t) => `kubectl create secret generic ${portierisSecretName(t.stage)} -n portieris --from-file=key=${t.stage}.pub`),
  };
}
