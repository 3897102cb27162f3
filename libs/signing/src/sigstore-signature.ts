import { KeyObject, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import { SignatureError } from './errors';
import { COSIGN_SIGNATURE_TYPE, buildCosignPayload, parsePayload } from './payload';
import { DEFAULT_IDENTITY_RULE, IdentityRule, identityMatches } from './identity';
import { SigstorePublicKey, sigstoreFingerprint } from './sigstore-key';
import type { VerifiedSignature } from './verify';
import { verifySigstoreBundle } from './sigstore-bundle';

/**
 * One sigstore signature as a registry carries it (the tag form: a layer of
 * the `sha256-<hex>.sig` manifest): the payload bytes, the base64 ECDSA
 * signature of them, and, for a keyless signature, the certificate.
 */
export interface SigstoreSignature {
  payload: Buffer;
  /** base64 of the DER ECDSA-SHA256 signature of the payload bytes. */
  signature: string;
  /** PEM certificate of a keyless (Fulcio) signature: refused here. */
  certificate?: string;
  /** Why the store could not read this signature (too large, malformed): its refusal. */
  problem?: SignatureError;
  /** The referrer form: a sigstore bundle (v0.3) instead of payload and signature. */
  bundle?: Buffer;
}

/** Signs `digest` for `repository` with a sigstore key, as `cosign sign --key` does (no transparency log: an air gap has none). */
export function signSigstore(digest: string, repository: string, key: KeyObject): SigstoreSignature {
  const payload = buildCosignPayload(digest, repository);
  return { payload, signature: cryptoSign('sha256', payload, key).toString('base64') };
}

export interface SigstoreVerifyOptions {
  trustedKeys: SigstorePublicKey[];
  manifestDigest: string;
  reference: string;
  identityRule?: IdentityRule;
}

/** A repository name without tag or digest (what cosign writes as the identity). */
const repositoryOnly = (ref: string): boolean => !/[@]|:[^/]*$/.test(ref.slice(ref.indexOf('/') + 1));

/** The key among `keys` whose ECDSA-SHA256 signature of `payload` the base64 `signature` is; undefined when none. */
export function sigstoreSigner(payload: Buffer, signature: string, keys: SigstorePublicKey[]): SigstorePublicKey | undefined {
  const raw = Buffer.from(signature, 'base64');
  return keys.find((k) => {
    try {
      return cryptoVerify('sha256', payload, k.key, raw);
    } catch {
      return false;
    }
  });
}

/**
 * Verifies a sigstore signature with the rules of simple signing
 * (SECURITY.md): the signature with a pinned key before the payload is
 * read; the payload strictly; the digest; the identity. cosign names the
 * repository only, so under the default rule a repository-only identity is
 * matched by repository (containers/image's matchRepository, the rule its
 * users write for cosign signatures); stricter rules apply as configured.
 * A keyless signature is SIGNATURE_KEYLESS_UNSUPPORTED: an air gap has no
 * Fulcio or Rekor to check its certificate against.
 */
export function verifySigstore(s: SigstoreSignature, o: SigstoreVerifyOptions): VerifiedSignature {
  if (s.problem) throw s.problem;
  if (s.bundle) return verifySigstoreBundle(s.bundle, o);
  if (s.certificate !== undefined)
    throw new SignatureError(
      'SIGNATURE_KEYLESS_UNSUPPORTED',
      'a keyless (certificate) sigstore signature: an air gap has no Fulcio or Rekor to check it against; sign with a key (cosign sign --key)',
    );
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(s.signature) || s.signature.length > 1024)
    throw new SignatureError('SIGNATURE_FORMAT', 'the sigstore signature is not base64 of an ECDSA signature');
  const key = sigstoreSigner(s.payload, s.signature, o.trustedKeys);
  if (!key)
    throw new SignatureError(
      'SIGNATURE_UNTRUSTED_KEY',
      `the sigstore signature verifies with none of the ${o.trustedKeys.length} pinned key(s) (${o.trustedKeys.map((k) => k.fingerprint.slice(0, 16)).join(', ')}): made by another key, or altered`,
    );
  // Only now, with the signature proven, is the payload read.
  const claims = parsePayload(s.payload, COSIGN_SIGNATURE_TYPE);
  if (claims.manifestDigest !== o.manifestDigest) {
    throw new SignatureError('SIGNATURE_DIGEST_MISMATCH', `signature is for manifest ${claims.manifestDigest}, not ${o.manifestDigest}`, {
      signed: claims.manifestDigest,
    });
  }
  const configured = o.identityRule ?? DEFAULT_IDENTITY_RULE;
  const rule: IdentityRule =
    configured.type === 'matchRepoDigestOrExact' && repositoryOnly(claims.dockerReference) ? { type: 'matchRepository' } : configured;
  if (!identityMatches(rule, o.reference, claims.dockerReference)) {
    throw new SignatureError(
      'SIGNATURE_IDENTITY_MISMATCH',
      `signature identity ${claims.dockerReference} does not match ${o.reference} under ${rule.type}`,
      {
        signed: claims.dockerReference,
      },
    );
  }
  return { ...claims, keyFingerprint: key.fingerprint, signedByFingerprint: sigstoreFingerprint(key.key), dialect: 'sigstore' };
}
