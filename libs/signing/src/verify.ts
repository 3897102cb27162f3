import * as openpgp from 'openpgp';
import { SignatureError } from './errors';
import { SignedClaims, parsePayload } from './payload';
import { DEFAULT_IDENTITY_RULE, IdentityRule, identityMatches } from './identity';
import { fingerprintOf } from './keys';

/** What a signature proved, once every rule passed. */
export interface VerifiedSignature extends SignedClaims {
  /** Full fingerprint (upper-case hex) of the pinned primary key. */
  keyFingerprint: string;
  /** Fingerprint of the key that made the signature (the primary, or one of its subkeys). */
  signedByFingerprint: string;
  signedAt: Date;
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

const T = openpgp.enums.packet;
const ENCRYPTED = new Set<number>([T.publicKeyEncryptedSessionKey, T.symEncryptedSessionKey, T.symmetricallyEncryptedData, T.symEncryptedIntegrityProtectedData, T.aeadEncryptedData]);

function format(why: string): SignatureError {
  return new SignatureError('SIGNATURE_FORMAT', `not an OpenPGP signed message: ${why}`);
}

/** Parses the message and checks its shape: one one-pass signature and one literal packet, optionally compressed. */
async function readSignedMessage(sig: Uint8Array): Promise<openpgp.Message<Uint8Array>> {
  if (sig.length === 0) throw format('empty');
  if (sig.length > 1 << 20) throw format('larger than 1 MiB');
  const head = Buffer.from(sig.subarray(0, 64)).toString('latin1');
  if (head.includes('-----BEGIN PGP SIGNED MESSAGE')) throw format('a cleartext-signed message');
  if (head.startsWith('-----BEGIN PGP') || (sig[0] & 0x80) === 0) throw format('armored or not binary OpenPGP');
  let message: openpgp.Message<Uint8Array>;
  try {
    message = await openpgp.readMessage({ binaryMessage: sig });
  } catch (e) {
    throw format((e as Error).message);
  }
  const outer = message.packets.map((p) => (p.constructor as unknown as { tag: number }).tag);
  if (outer.some((t) => ENCRYPTED.has(t))) throw format('it is encrypted');
  let inner: openpgp.Message<Uint8Array>;
  try {
    inner = await message.unwrapCompressed();
  } catch (e) {
    throw format(`cannot decompress: ${(e as Error).message}`);
  }
  const tags = inner.packets.map((p) => (p.constructor as unknown as { tag: number }).tag);
  if (tags.some((t) => ENCRYPTED.has(t))) throw format('it is encrypted');
  const onePass = tags.filter((t) => t === T.onePassSignature).length;
  const literal = tags.filter((t) => t === T.literalData).length;
  const unexpected = tags.filter((t) => t !== T.onePassSignature && t !== T.literalData && t !== T.signature);
  if (literal === 0) throw format(tags.includes(T.signature) ? 'a detached signature (no signed data inside)' : 'no literal data');
  if (literal > 1) throw format('more than one literal data packet');
  if (onePass === 0) throw format('literal data without a signature');
  if (onePass > 1) throw format('more than one signature');
  if (unexpected.length) throw format(`unexpected packets (${unexpected.join(',')})`);
  return inner;
}

function mapVerifyError(e: unknown, fpr: string): SignatureError {
  const msg = (e as Error).message ?? String(e);
  if (/revoked/i.test(msg)) return new SignatureError('SIGNATURE_KEY_REVOKED', `signature by a revoked key of ${fpr}: ${msg}`);
  if (/expired/i.test(msg)) return new SignatureError('SIGNATURE_EXPIRED', `signature or key ${fpr} has expired: ${msg}`);
  return new SignatureError('SIGNATURE_INVALID', `signature does not verify against key ${fpr}: ${msg}`);
}

async function expiry(k: openpgp.Key | openpgp.Subkey): Promise<Date | null> {
  const e = await k.getExpirationTime();
  return e instanceof Date ? e : null;
}

/**
 * Verifies a simple signing signature the way containers/image does: the
 * OpenPGP message first, against pinned keys only; the JSON is read only
 * after that, strictly; then the digest and the identity. Returns what was
 * proven, or throws a SignatureError whose code names the rule that failed.
 */
export async function verify(signature: Uint8Array, o: VerifyOptions): Promise<VerifiedSignature> {
  if (!o.trustedKeys.length) throw new SignatureError('SIGNATURE_UNTRUSTED_KEY', 'no trusted keys are configured; refusing every signature');
  const now = o.now ?? new Date();
  const message = await readSignedMessage(signature);
  const [issuer] = message.getSigningKeyIDs();
  const trusted = o.trustedKeys.find((k) => k.getKeys(issuer).length > 0);
  if (!trusted) {
    throw new SignatureError('SIGNATURE_UNTRUSTED_KEY', `signed by key ${issuer.toHex().toUpperCase()}, which is not a trusted key`, { keyId: issuer.toHex().toUpperCase() });
  }
  const fpr = fingerprintOf(trusted);
  let data: Uint8Array;
  let sigPacket: openpgp.SignaturePacket;
  try {
    const res = await openpgp.verify({ message, verificationKeys: [trusted], expectSigned: true, format: 'binary', date: now });
    if (res.signatures.length !== 1) throw new Error('expected exactly one signature');
    await res.signatures[0].verified;
    sigPacket = (await res.signatures[0].signature).packets[0];
    data = res.data as Uint8Array;
  } catch (e) {
    throw mapVerifyError(e, fpr);
  }
  // Like gpg (EXPKEYSIG), a key that has expired by now no longer vouches for anything.
  const signingKey = trusted.getKeys(issuer)[0];
  for (const k of [trusted, signingKey]) {
    const exp = await expiry(k);
    if (exp && exp.getTime() <= now.getTime()) throw new SignatureError('SIGNATURE_EXPIRED', `key ${k.getFingerprint().toUpperCase()} expired on ${exp.toISOString()}`);
  }
  if (sigPacket.created && sigPacket.created.getTime() > now.getTime() + 5 * 60_000) {
    throw new SignatureError('SIGNATURE_INVALID', `signature claims a creation time in the future (${sigPacket.created.toISOString()})`);
  }
  // Only now, with the signature proven, is the payload read.
  const claims = parsePayload(data);
  if (claims.manifestDigest !== o.manifestDigest) {
    throw new SignatureError('SIGNATURE_DIGEST_MISMATCH', `signature is for manifest ${claims.manifestDigest}, not ${o.manifestDigest}`, { signed: claims.manifestDigest });
  }
  const rule = o.identityRule ?? DEFAULT_IDENTITY_RULE;
  if (!identityMatches(rule, o.reference, claims.dockerReference)) {
    throw new SignatureError('SIGNATURE_IDENTITY_MISMATCH', `signature identity ${claims.dockerReference} does not match ${o.reference} under ${rule.type}`, { signed: claims.dockerReference });
  }
  return { ...claims, keyFingerprint: fpr, signedByFingerprint: signingKey.getFingerprint().toUpperCase(), signedAt: sigPacket.created ?? now };
}
