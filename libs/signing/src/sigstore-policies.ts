import { stringify } from 'yaml';
import { StageTrust } from './cluster-policy';

/**
 * Policies for the enforcers that read cosign signatures from the registry,
 * each shaped after its project's documented example (docs/formats.md,
 * "Policies for sigstore enforcers"): the stage's sigstore public key as the
 * one trusted key, the stage's scopes, and no transparency log or SCT check
 * (an air gap has no Rekor). Only for stages with a sigstore key: the caller
 * refuses (KEY_MISSING) otherwise, never writes a policy that accepts
 * anything.
 */

function scopes(t: StageTrust): string[] {
  return t.scopes && t.scopes.length ? t.scopes : [t.registry];
}

/** A scope (a registry, a namespace or a repository) as the image patterns an enforcer globs: the repository itself and everything under it. */
function patterns(scope: string, deep: string): string[] {
  return scope.includes('/') ? [`${scope}:*`, `${scope}@*`, `${scope}/${deep}`] : [`${scope}/${deep}`];
}

function key(t: StageTrust): string {
  if (!t.sigstorePublicKeyPem) throw new Error(`stage ${t.stage} has no sigstore key`);
  return t.sigstorePublicKeyPem.trimEnd();
}

/**
 * A Kyverno `ClusterPolicy` with one `verifyImages` rule: the stage's key as
 * the attestor, transparency log and SCT checks off, tags replaced by the
 * verified digest (`mutateDigest`) and digests required (`verifyDigest`),
 * admission refused on failure.
 */
export function kyvernoPolicy(t: StageTrust, name = `airlock-${t.stage}`): string {
  return stringify({
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name, annotations: { 'policies.kyverno.io/title': `Images of stage ${t.stage} signed by airlock` } },
    spec: {
      webhookConfiguration: { failurePolicy: 'Fail', timeoutSeconds: 30 },
      background: false,
      rules: [
        {
          name: `verify-${t.stage}-signature`,
          match: { any: [{ resources: { kinds: ['Pod'] } }] },
          verifyImages: [
            {
              imageReferences: scopes(t).flatMap((s) => patterns(s, '*')),
              failureAction: 'Enforce',
              mutateDigest: true,
              verifyDigest: true,
              required: true,
              attestors: [
                { count: 1, entries: [{ keys: { publicKeys: key(t), rekor: { ignoreTlog: true }, ctlog: { ignoreSCT: true } } }] },
              ],
            },
          ],
        },
      ],
    },
  });
}

/** A sigstore policy-controller `ClusterImagePolicy` with a `key` authority (no `ctlog`: verified offline). */
export function policyControllerPolicy(t: StageTrust, name = `airlock-${t.stage}`): string {
  return stringify({
    apiVersion: 'policy.sigstore.dev/v1beta1',
    kind: 'ClusterImagePolicy',
    metadata: { name },
    spec: {
      images: scopes(t).flatMap((s) => patterns(s, '**').map((glob) => ({ glob }))),
      authorities: [{ name: `airlock-${t.stage}`, key: { data: key(t) + '\n', hashAlgorithm: 'sha256' } }],
    },
  });
}

/**
 * An OpenShift `ClusterImagePolicy` (`config.openshift.io/v1`): the stage's
 * scopes, root of trust the public key (base64 of the PEM), identity matched
 * by repository (cosign signs the repository).
 */
export function openshiftClusterImagePolicy(t: StageTrust, name = `airlock-${t.stage}`): string {
  return stringify({
    apiVersion: 'config.openshift.io/v1',
    kind: 'ClusterImagePolicy',
    metadata: { name },
    spec: {
      scopes: scopes(t),
      policy: {
        rootOfTrust: { policyType: 'PublicKey', publicKey: { keyData: Buffer.from(key(t) + '\n').toString('base64') } },
        signedIdentity: { matchPolicy: 'MatchRepository' },
      },
    },
  });
}

/**
 * Connaisseur's Helm values (`application.validators` and `application.policy`,
 * the chart layout of Connaisseur 3): a `cosign` validator whose one trust
 * root is the stage key, and a policy rule per scope that uses it without the
 * transparency log (`verifyInTransparencyLog: false`).
 */
export function connaisseurValues(t: StageTrust, name = `airlock-${t.stage}`): string {
  const rules = scopes(t).flatMap((s) => (s.includes('/') ? [`${s}:*`, `${s}/*:*`] : [`${s}/*:*`]));
  return stringify({
    application: {
      validators: [{ name, type: 'cosign', trustRoots: [{ name: 'default', key: key(t) + '\n' }] }],
      policy: rules.map((pattern) => ({ pattern, validator: name, with: { trustRoot: 'default', verifyInTransparencyLog: false } })),
    },
  });
}
