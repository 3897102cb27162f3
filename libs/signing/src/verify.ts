import * as openpgp from 'openpgp';
import { SignatureError } from './errors';
import { SignedClaims, parsePayload } from './payload';
import { DEFAULT_IDENTITY_RULE, IdentityRule, identityMatches } from './identity';
import { openSignedMessage } from './signed-message';

/** What a signature proved, once every rule passed. */
export interface VerifiedSignature extends SignedClaims {
  /** Full fingerprint (upper-case hex) of the pinned primary key. */
  keyFingerprint: string;
  /** Fingerprint of the key that made the signature (the primary, or one of its subkeys). */
  signedByFingerprint: string;
  /** When the OpenPGP signature says it was made; a sigstore signature made without a transparency log carries no time. */
  signedAt?: Date;
  /** simple signing (OpenPGP, lookaside) or sigstore (cosign, in the registry). */
  dialect: 'simple' | 'sigstore';
}

export interface VerifyOptions {
  /** Pinned public keys; only their primary fingerprints (and valid subkeys) are trusted. */
  trustedKeys: openpgp.Key[];
  /** The digest of the manifest bytes actually present. */
  manifestDigest: string;
  /** The reference the image is known by (used by the identity rule). */
  reference: string;
  identityRule?: IdentityRule;
  now?: Date;
}

/**
 * Verifies a simple signing signature the way containers/image does: the
 * OpenPGP message first, against pinned keys only; the JSON is read only
 * after that, strictly; then the digest and the identity. Returns what was
 * proven, or throws a SignatureError whose code names the rule that failed.
 */
export async function verify(signature: Uint8Array, o: VerifyOptions): Promise<VerifiedSignature> {
  const opened = await openSignedMessage(signature, o.trustedKeys, { now: o.now });
  // Only now, with the signature proven, is the payload read.
  const claims = parsePayload(opened.data);
  if (claims.manifestDigest !== o.manifestDigest) {
    throw new SignatureError('SIGNATURE_DIGEST_MISMATCH', `signature is for manifest ${claims.manifestDigest}, not ${o.manifestDigest}`, {
      signed: claims.manifestDigest,
    });
  }
  const rule = o.identityRule ?? DEFAULT_IDENTITY_RULE;
  if (!identityMatches(rule, o.reference, claims.dockerReference)) {
    throw new SignatureError(
      'SIGNATURE_IDENTITY_MISMATCH',
      `signature identity ${claims.dockerReference} does not match ${o.reference} under ${rule.type}`,
      {
        signed: claims.dockerReference,
      },
    );
  }
  return {
    ...claims,
    keyFingerprint: opened.keyFingerprint,
    signedByFingerprint: opened.signedByFingerprint,
    signedAt: opened.signedAt,
    dialect: 'simple',
  };
}
