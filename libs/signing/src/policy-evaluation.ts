import type * as openpgp from 'openpgp';
import { AirlockError, isAirlockError } from '@airlock/common';
import { SignatureError } from './errors';
import { IdentityRule } from './identity';
import { SignatureStore, SigstoreSignatureStore } from './signature-store';
import { VerifiedSignature, verify } from './verify';
import { SigstorePublicKey } from './sigstore-key';
import { verifySigstore } from './sigstore-signature';

/**
 * What makes an image acceptable: signatures by one of the pinned keys, for
 * `reference` under `identityRule`, in either dialect: simple signing
 * (OpenPGP keys, signatures in `store`, the lookaside) or sigstore (sigstore
 * keys, signatures in `sigstoreStore`, the registry).
 */
export interface AcceptancePolicy {
  trustedKeys: openpgp.Key[];
  sigstoreKeys?: SigstorePublicKey[];
  sigstoreStore?: SigstoreSignatureStore;
  identityRule: IdentityRule;
  /** The reference the image is known by (what the identity rule compares signatures against). */
  reference: string;
  /** The repository the store keeps the image's signatures under. */
  repository: string;
  store: SignatureStore;
  /** Who was expected to sign, for the refusal when there is no signature at all ("stage dev"). */
  signer: string;
}

/** The outcome for one signature of one manifest. */
export type SignatureOutcome = ({ n: number; accepted: VerifiedSignature } | { n: number; refusal: AirlockError }) & {
  dialect?: 'sigstore';
};

/** Every signature of one manifest and what became of it. */
export interface ManifestEvaluation {
  digest: string;
  signatures: SignatureOutcome[];
}

/**
 * Evaluates the signatures of each manifest of an image (the top level and
 * every platform manifest) against the policy, as containers/image's policy
 * evaluation does: a signature counts when it verifies with a pinned key,
 * for that very digest, under the identity rule. With `firstAccepted`, the
 * signatures of a manifest are read only until one is accepted.
 */
export async function evaluateSignatures(
  digests: string[],
  p: AcceptancePolicy,
  o: { firstAccepted?: boolean } = {},
): Promise<ManifestEvaluation[]> {
  const out: ManifestEvaluation[] = [];
  for (const digest of digests) {
    const signatures: SignatureOutcome[] = [];
    const refused = (e: unknown) => (isAirlockError(e) ? e : new SignatureError('SIGNATURE_INVALID', (e as Error).message));
    if (p.trustedKeys.length || !p.sigstoreKeys?.length) {
      for (const [i, sig] of (await p.store.list(p.repository, digest)).entries()) {
        try {
          signatures.push({
            n: i + 1,
            accepted: await verify(sig, {
              trustedKeys: p.trustedKeys,
              manifestDigest: digest,
              reference: p.reference,
              identityRule: p.identityRule,
            }),
          });
          if (o.firstAccepted) break;
        } catch (e) {
          signatures.push({ n: i + 1, refusal: refused(e) });
        }
      }
    }
    if (p.sigstoreKeys?.length && p.sigstoreStore && !(o.firstAccepted && signatures.some((s) => 'accepted' in s))) {
      // sigstore signatures are numbered by their layer in the signature manifest
      for (const [i, sig] of (await p.sigstoreStore.list(p.repository, digest)).entries()) {
        try {
          signatures.push({
            n: i + 1,
            dialect: 'sigstore',
            accepted: verifySigstore(sig, {
              trustedKeys: p.sigstoreKeys,
              manifestDigest: digest,
              reference: p.reference,
              identityRule: p.identityRule,
            }),
          });
          if (o.firstAccepted) break;
        } catch (e) {
          signatures.push({ n: i + 1, dialect: 'sigstore', refusal: refused(e) });
        }
      }
    }
    out.push({ digest, signatures });
  }
  return out;
}

/**
 * Every manifest must carry an accepted signature (`digests` lists the top
 * manifest first): returns the accepted one per manifest digest, or throws
 * the refusal of the first manifest without one (its first signature's
 * refusal, or SIGNATURE_REQUIRED when it has none). As `cosign verify`
 * does, an accepted sigstore signature on an index is enough for the whole
 * image; simple signing keeps requiring each platform manifest's own.
 */
export async function requireAccepted(digests: string[], p: AcceptancePolicy): Promise<Map<string, VerifiedSignature>> {
  const accepted = new Map<string, VerifiedSignature>();
  for (const [i, d] of digests.entries()) {
    const [e] = await evaluateSignatures([d], p, { firstAccepted: true });
    const ok = e.signatures.find((s): s is { n: number; accepted: VerifiedSignature } => 'accepted' in s);
    if (ok) {
      accepted.set(d, ok.accepted);
      // what `cosign verify` accepts: a sigstore signature on an index covers the platform manifests it pins by digest
      if (i === 0 && ok.accepted.dialect === 'sigstore') return accepted;
      continue;
    }
    const first = e.signatures.find((s): s is { n: number; refusal: AirlockError } => 'refusal' in s);
    throw first?.refusal ?? new SignatureError('SIGNATURE_REQUIRED', `no signature of ${p.signer} for ${p.reference} (${d})`);
  }
  return accepted;
}
