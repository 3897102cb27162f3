import * as openpgp from 'openpgp';
import { SignatureError } from './errors';
import { fingerprintOf } from './keys';

/**
 * The one OpenPGP signed-message primitive of airlock: simple signing
 * signatures, audit checkpoints and bundle receipts are all binary signed
 * messages by a primary key, checked the same way (shape, pinned key, key
 * and signature expiry, revocation, creation time) before a byte of their
 * content is read.
 */

/** What a signed message proved: its content, and by which pinned key. */
export interface OpenedMessage {
  data: Uint8Array;
  /** Full fingerprint (upper-case hex) of the pinned primary key. */
  keyFingerprint: string;
  /** Fingerprint of the key that made the signature (the primary, or one of its subkeys). */
  signedByFingerprint: string;
  signedAt: Date;
}

const T = openpgp.enums.packet;
const ENCRYPTED = new Set<number>([
  T.publicKeyEncryptedSessionKey,
  T.symEncryptedSessionKey,
  T.symmetricallyEncryptedData,
  T.symEncryptedIntegrityProtectedData,
  T.aeadEncryptedData,
]);
const MAX_BYTES = 1 << 20;

function format(why: string): SignatureError {
  return new SignatureError('SIGNATURE_FORMAT', `not an OpenPGP signed message: ${why}`);
}

/** Parses the message and checks its shape: one one-pass signature and one literal packet, optionally compressed (gpg compresses by default). */
async function readSignedMessage(sig: Uint8Array): Promise<openpgp.Message<Uint8Array>> {
  if (sig.length === 0) throw format('empty');
  if (sig.length > MAX_BYTES) throw format('larger than 1 MiB');
  const head = Buffer.from(sig.subarray(0, 64)).toString('latin1');
  if (head.includes('-----BEGIN PGP SIGNED MESSAGE')) throw format('a cleartext-signed message');
  if (head.startsWith('-----BEGIN PGP') || (sig[0] & 0x80) === 0) throw format('armored or not binary OpenPGP');
  let message: openpgp.Message<Uint8Array>;
  try {
    message = await openpgp.readMessage({ binaryMessage: sig });
  } catch (e) {
    throw format((e as Error).message);
  }
  const outer = message.packets.map((p) => (p.constructor as unknown as { tag: openpgp.enums.packet }).tag);
  if (outer.some((t) => ENCRYPTED.has(t))) throw format('it is encrypted');
  let inner: openpgp.Message<Uint8Array>;
  try {
    inner = message.unwrapCompressed();
  } catch (e) {
    throw format(`cannot decompress: ${(e as Error).message}`);
  }
  const tags = inner.packets.map((p) => (p.constructor as unknown as { tag: openpgp.enums.packet }).tag);
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

/** Signs `data` as a binary OpenPGP signed message by the key's primary key (containers/image trusts primary fingerprints only). */
export async function signMessage(data: Uint8Array, key: openpgp.PrivateKey, date: Date = new Date()): Promise<Buffer> {
  if (!key.isDecrypted()) throw new SignatureError('KEY_PASSPHRASE', 'the signing key is still locked');
  const message = await openpgp.createMessage({ binary: data });
  return Buffer.from(await openpgp.sign({ message, signingKeys: key, signingKeyIDs: [key.getKeyID()], format: 'binary', date }));
}

/**
 * Opens a signed message against pinned keys only: its shape first, then
 * the signature, then the expiry of the key and subkey that made it and the
 * signature's creation time. Returns the content only when every check
 * passed; throws a SignatureError whose code names the rule that failed.
 */
export async function openSignedMessage(bytes: Uint8Array, trustedKeys: openpgp.Key[], o: { now?: Date } = {}): Promise<OpenedMessage> {
  if (!trustedKeys.length) throw new SignatureError('SIGNATURE_UNTRUSTED_KEY', 'no trusted keys are configured; refusing every signature');
  const now = o.now ?? new Date();
  const message = await readSignedMessage(bytes);
  const [issuer] = message.getSigningKeyIDs();
  const trusted = trustedKeys.find((k) => k.getKeys(issuer).length > 0);
  if (!trusted)
    throw new SignatureError('SIGNATURE_UNTRUSTED_KEY', `signed by key ${issuer.toHex().toUpperCase()}, which is not a trusted key`, {
      keyId: issuer.toHex().toUpperCase(),
    });
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
    if (exp && exp.getTime() <= now.getTime())
      throw new SignatureError('SIGNATURE_EXPIRED', `key ${k.getFingerprint().toUpperCase()} expired on ${exp.toISOString()}`);
  }
  if (sigPacket.created && sigPacket.created.getTime() > now.getTime() + 5 * 60_000) {
    throw new SignatureError('SIGNATURE_INVALID', `signature claims a creation time in the future (${sigPacket.created.toISOString()})`);
  }
  return { data, keyFingerprint: fpr, signedByFingerprint: signingKey.getFingerprint().toUpperCase(), signedAt: sigPacket.created ?? now };
}
