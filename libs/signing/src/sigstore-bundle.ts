import { KeyObject, createHash, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import { JsonValue, readStrictJson } from '@airlock/common';
import { SignatureError } from './errors';
import { DEFAULT_IDENTITY_RULE, IdentityRule, identityMatches } from './identity';
import { SigstorePublicKey, sigstoreFingerprint } from './sigstore-key';
import type { VerifiedSignature } from './verify';

/**
 * The referrer form of a sigstore signature (cosign 3's default), docs/formats.md
 * "The referrer form": a sigstore bundle v0.3 whose DSSE envelope carries an
 * in-toto Statement v1 (predicate type `https://sigstore.dev/cosign/sign/v1`,
 * subject the repository and the manifest digest), signed with a key (a
 * public-key hint, no certificate) and with no transparency-log entry: an
 * air gap has no Rekor.
 */

export const SIGSTORE_BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
export const COSIGN_SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';

/** DSSE's pre-authentication encoding: what the signature covers. */
export function dssePae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
}

/** The hint a bundle names its key by: base64 of the SHA-256 of the DER public key. */
export function sigstoreKeyHint(k: KeyObject): string {
  return createHash('sha256')
    .update(k.export({ format: 'der', type: 'spki' }))
    .digest('base64');
}

/** A bundle signing `digest` for `repository` with a sigstore key. */
export function buildSigstoreBundle(digest: string, repository: string, key: KeyObject, publicKey: KeyObject): Buffer {
  const [alg, hex] = digest.split(':');
  const statement = Buffer.from(
    JSON.stringify({
      _type: STATEMENT_TYPE,
      subject: [{ name: repository, digest: { [alg]: hex } }],
      predicateType: COSIGN_SIGN_PREDICATE,
      predicate: {},
    }),
  );
  const sig = cryptoSign('sha256', dssePae(IN_TOTO_PAYLOAD_TYPE, statement), key);
  return Buffer.from(
    JSON.stringify({
      mediaType: SIGSTORE_BUNDLE_MEDIA_TYPE,
      verificationMaterial: {
        publicKey: { hint: sigstoreKeyHint(publicKey) },
        tlogEntries: [],
        timestampVerificationData: { rfc3161Timestamps: [] },
      },
      dsseEnvelope: {
        payload: statement.toString('base64'),
        payloadType: IN_TOTO_PAYLOAD_TYPE,
        signatures: [{ sig: sig.toString('base64'), keyid: '' }],
      },
    }),
  );
}

function bad(message: string): SignatureError {
  return new SignatureError('SIGNATURE_FORMAT', `sigstore bundle: ${message}`);
}

function obj(v: JsonValue | undefined, where: string): Record<string, JsonValue> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(`${where} must be an object`);
  return v;
}

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

function b64(v: JsonValue | undefined, where: string): Buffer {
  if (typeof v !== 'string' || !B64.test(v)) throw bad(`${where} must be base64`);
  return Buffer.from(v, 'base64');
}

/**
 * Verifies a bundle with the rules of SECURITY.md: its shape is read first
 * (a certificate is SIGNATURE_KEYLESS_UNSUPPORTED, a message signature or
 * two signatures SIGNATURE_FORMAT), the DSSE signature with a pinned key
 * before the statement is read, the statement strictly (its type, the
 * predicate type, a subject for this digest), then the identity (the
 * subject's name, a repository, matched by repository under the default
 * rule).
 */
export function verifySigstoreBundle(
  bytes: Buffer,
  o: { trustedKeys: SigstorePublicKey[]; manifestDigest: string; reference: string; identityRule?: IdentityRule },
): VerifiedSignature {
  const top = obj(
    readStrictJson(bytes, (why) => bad(`not valid JSON: ${why}`)),
    'the bundle',
  );
  if (top.mediaType !== SIGSTORE_BUNDLE_MEDIA_TYPE)
    throw bad(`media type ${(JSON.stringify(top.mediaType) ?? 'nothing').slice(0, 80)} is not ${SIGSTORE_BUNDLE_MEDIA_TYPE}`);
  const material = obj(top.verificationMaterial, 'verificationMaterial');
  if ('certificate' in material || 'x509CertificateChain' in material)
    throw new SignatureError(
      'SIGNATURE_KEYLESS_UNSUPPORTED',
      'a keyless (certificate) sigstore bundle: an air gap has no Fulcio or Rekor to check it against; sign with a key',
    );
  if (!('publicKey' in material)) throw bad('verificationMaterial names no public key');
  if (!('dsseEnvelope' in top)) throw bad('no DSSE envelope (a message signature, as sign-blob makes, is not an image signature)');
  const env = obj(top.dsseEnvelope, 'dsseEnvelope');
  if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE)
    throw bad(`payload type ${(JSON.stringify(env.payloadType) ?? 'nothing').slice(0, 80)} is not ${IN_TOTO_PAYLOAD_TYPE}`);
  const payload = b64(env.payload, 'dsseEnvelope.payload');
  if (!Array.isArray(env.signatures) || env.signatures.length !== 1) throw bad('the envelope must carry exactly one signature');
  const sig = b64(obj(env.signatures[0], 'the signature').sig, 'the signature');
  const pae = dssePae(IN_TOTO_PAYLOAD_TYPE, payload);
  const key = o.trustedKeys.find((k) => {
    try {
      return cryptoVerify('sha256', pae, k.key, sig);
    } catch {
      return false;
    }
  });
  if (!key)
    throw new SignatureError(
      'SIGNATURE_UNTRUSTED_KEY',
      `the sigstore bundle verifies with none of the ${o.trustedKeys.length} pinned key(s): made by another key, or altered`,
    );
  // Only now, with the signature proven, is the statement read.
  const st = readStrictJson(
    payload,
    (why) => new SignatureError('SIGNATURE_PAYLOAD_INVALID', `the bundle's statement is not valid JSON: ${why}`),
  );
  if (typeof st !== 'object' || st === null || Array.isArray(st))
    throw new SignatureError('SIGNATURE_PAYLOAD_INVALID', "the bundle's statement is not an object");
  if (st._type !== STATEMENT_TYPE)
    throw new SignatureError(
      'SIGNATURE_PAYLOAD_INVALID',
      `the statement type ${(JSON.stringify(st._type) ?? 'nothing').slice(0, 80)} is not ${STATEMENT_TYPE}`,
    );
  if (st.predicateType !== COSIGN_SIGN_PREDICATE)
    throw new SignatureError(
      'SIGNATURE_PAYLOAD_INVALID',
      `predicate type ${(JSON.stringify(st.predicateType) ?? 'nothing').slice(0, 80)} is not an image signature (${COSIGN_SIGN_PREDICATE})`,
    );
  if (!Array.isArray(st.subject) || st.subject.length < 1 || st.subject.length > 16)
    throw new SignatureError('SIGNATURE_PAYLOAD_INVALID', 'the statement has no subject');
  const [alg, hex] = o.manifestDigest.split(':');
  const subjects = st.subject.map((x) => obj(x, 'a subject'));
  const mine = subjects.find(
    (x) =>
      typeof x.digest === 'object' && x.digest !== null && !Array.isArray(x.digest) && (x.digest as Record<string, JsonValue>)[alg] === hex,
  );
  if (!mine)
    throw new SignatureError(
      'SIGNATURE_DIGEST_MISMATCH',
      `the bundle signs ${subjects
        .map((x) => JSON.stringify(x.digest))
        .join(', ')
        .slice(0, 200)}, not ${o.manifestDigest}`,
    );
  const name = typeof mine.name === 'string' ? mine.name : '';
  const configured = o.identityRule ?? DEFAULT_IDENTITY_RULE;
  const rule: IdentityRule = configured.type === 'matchRepoDigestOrExact' ? { type: 'matchRepository' } : configured;
  if (!name || !identityMatches(rule, o.reference, name))
    throw new SignatureError(
      'SIGNATURE_IDENTITY_MISMATCH',
      `the bundle's subject ${JSON.stringify(name.slice(0, 200))} does not match ${o.reference} under ${rule.type}`,
      { signed: name },
    );
  return {
    dockerReference: name,
    manifestDigest: o.manifestDigest,
    keyFingerprint: key.fingerprint,
    signedByFingerprint: sigstoreFingerprint(key.key),
    dialect: 'sigstore',
  };
}
