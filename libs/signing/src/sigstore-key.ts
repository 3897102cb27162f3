import { KeyObject, createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, scryptSync } from 'node:crypto';
import * as nacl from 'tweetnacl';
import { JsonValue, Sensitive, readStrictJson } from '@airlock/common';
import { SignatureError } from './errors';

/**
 * Sigstore (cosign) keys: ECDSA P-256, the public key a PEM `PUBLIC KEY`
 * (SPKI), the private key encrypted as cosign and containers/image write it
 * (docs/formats.md, "Sigstore keys"): PEM `ENCRYPTED SIGSTORE PRIVATE KEY`
 * (or cosign's older `ENCRYPTED COSIGN PRIVATE KEY`) around JSON with the
 * scrypt parameters and salt, the nacl/secretbox nonce, and the ciphertext
 * of the PKCS#8 key.
 */

export const SIGSTORE_PRIVATE_PEM = 'ENCRYPTED SIGSTORE PRIVATE KEY';
export const COSIGN_PRIVATE_PEM = 'ENCRYPTED COSIGN PRIVATE KEY';

/** A pinned sigstore public key with its fingerprint (SHA-256 of the DER SPKI, lower-case hex). */
export interface SigstorePublicKey {
  kind: 'sigstore';
  key: KeyObject;
  fingerprint: string;
  pem: string;
}

/** cosign's own scrypt work factor; a file asking for more than MAX_N is refused before any work. */
const SCRYPT = { N: 32768, r: 8, p: 1 };
const MAX_N = 1 << 20;

function pemBlocks(text: string): { type: string; body: Buffer }[] {
  const out: { type: string; body: Buffer }[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]*?)-----END \1-----/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push({ type: m[1], body: Buffer.from(m[2].replace(/\s+/g, ''), 'base64') });
  return out;
}

function pem(type: string, body: Buffer): string {
  const b64 = body.toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ${type}-----\n${b64}-----END ${type}-----\n`;
}

/** Whether a key file holds a sigstore key (public or encrypted private) rather than an OpenPGP one. */
export function isSigstoreKeyFile(bytes: Uint8Array): boolean {
  const head = Buffer.from(bytes.subarray(0, 4096)).toString('latin1');
  return /-----BEGIN (PUBLIC KEY|ENCRYPTED (SIGSTORE|COSIGN) PRIVATE KEY)-----/.test(head);
}

function requireP256(k: KeyObject, what: string): void {
  if (k.asymmetricKeyType !== 'ec' || k.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new SignatureError(
      'KEY_INVALID',
      `${what} is not an ECDSA P-256 key (${k.asymmetricKeyType}${k.asymmetricKeyDetails?.namedCurve ? ` ${k.asymmetricKeyDetails.namedCurve}` : ''}): airlock signs and verifies sigstore signatures with P-256, cosign's default`,
    );
  }
}

/** The fingerprint `keys show` prints and audit events carry: SHA-256 of the DER public key. */
export function sigstoreFingerprint(k: KeyObject): string {
  return createHash('sha256')
    .update(k.export({ format: 'der', type: 'spki' }))
    .digest('hex');
}

/** A PEM public key (SPKI); KEY_INVALID unless it is ECDSA P-256. */
export function readSigstorePublicKey(bytes: Uint8Array | string, what = 'sigstore public key'): SigstorePublicKey {
  const blocks = pemBlocks(Buffer.from(bytes).toString('latin1')).filter((b) => b.type === 'PUBLIC KEY');
  if (blocks.length !== 1) throw new SignatureError('KEY_INVALID', `${what}: expected one PEM PUBLIC KEY block, found ${blocks.length}`);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: blocks[0].body, format: 'der', type: 'spki' });
  } catch (e) {
    throw new SignatureError('KEY_INVALID', `${what}: not a public key: ${(e as Error).message}`);
  }
  requireP256(key, what);
  return {
    kind: 'sigstore',
    key,
    fingerprint: sigstoreFingerprint(key),
    pem: pem('PUBLIC KEY', key.export({ format: 'der', type: 'spki' })),
  };
}

function field(o: JsonValue | undefined, name: string, what: string): JsonValue {
  if (typeof o !== 'object' || o === null || Array.isArray(o) || !(name in o))
    throw new SignatureError('KEY_INVALID', `${what}: the encrypted key has no ${name}`);
  return (o as Record<string, JsonValue>)[name];
}

function b64(v: JsonValue, name: string, what: string): Buffer {
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) throw new SignatureError('KEY_INVALID', `${what}: ${name} is not base64`);
  return Buffer.from(v, 'base64');
}

/**
 * Unlocks an encrypted sigstore or cosign private key. A wrong passphrase
 * (the secretbox does not open) is KEY_PASSPHRASE; anything malformed,
 * parameters beyond cosign's range, or a key that is not P-256 PKCS#8 is
 * KEY_INVALID.
 */
export function readSigstorePrivateKey(
  bytes: Uint8Array | string,
  passphrase: Sensitive<string>,
  what = 'sigstore private key',
): KeyObject {
  const blocks = pemBlocks(Buffer.from(bytes).toString('latin1')).filter(
    (b) => b.type === SIGSTORE_PRIVATE_PEM || b.type === COSIGN_PRIVATE_PEM,
  );
  if (blocks.length !== 1)
    throw new SignatureError(
      'KEY_INVALID',
      `${what}: expected one PEM block ${SIGSTORE_PRIVATE_PEM} (or ${COSIGN_PRIVATE_PEM}), found ${blocks.length}`,
    );
  const doc = readStrictJson(
    blocks[0].body,
    (why) => new SignatureError('KEY_INVALID', `${what}: the encrypted key is not valid JSON: ${why}`),
  );
  const kdf = field(doc, 'kdf', what);
  const params = field(kdf, 'params', what) as Record<string, JsonValue>;
  if (field(kdf, 'name', what) !== 'scrypt')
    throw new SignatureError('KEY_INVALID', `${what}: key derivation ${JSON.stringify(field(kdf, 'name', what))} is not scrypt`);
  const [N, r, p] = [field(params, 'N', what), field(params, 'r', what), field(params, 'p', what)];
  if (
    typeof N !== 'number' ||
    typeof r !== 'number' ||
    typeof p !== 'number' ||
    !Number.isInteger(N) ||
    N < 2 ||
    N > MAX_N ||
    (N & (N - 1)) !== 0 ||
    r < 1 ||
    r > 32 ||
    p < 1 ||
    p > 16
  ) {
    throw new SignatureError(
      'KEY_INVALID',
      `${what}: scrypt parameters N=${JSON.stringify(N)} r=${JSON.stringify(r)} p=${JSON.stringify(p)} are outside what cosign writes`,
    );
  }
  const salt = b64(field(kdf, 'salt', what), 'salt', what);
  const cipher = field(doc, 'cipher', what);
  if (field(cipher, 'name', what) !== 'nacl/secretbox')
    throw new SignatureError('KEY_INVALID', `${what}: cipher ${JSON.stringify(field(cipher, 'name', what))} is not nacl/secretbox`);
  const nonce = b64(field(cipher, 'nonce', what), 'nonce', what);
  if (nonce.length !== nacl.secretbox.nonceLength)
    throw new SignatureError('KEY_INVALID', `${what}: the nonce is ${nonce.length} bytes, not ${nacl.secretbox.nonceLength}`);
  const ciphertext = b64(field(doc, 'ciphertext', what), 'ciphertext', what);
  const secret = scryptSync(Buffer.from(passphrase.reveal(), 'utf8'), salt, nacl.secretbox.keyLength, {
    N,
    r,
    p,
    maxmem: 256 * N * r + (1 << 20),
  });
  const plain = nacl.secretbox.open(ciphertext, nonce, secret);
  secret.fill(0);
  if (!plain) throw new SignatureError('KEY_PASSPHRASE', `${what}: wrong passphrase (the key does not decrypt)`);
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: Buffer.from(plain), format: 'der', type: 'pkcs8' });
  } catch (e) {
    throw new SignatureError('KEY_INVALID', `${what}: the decrypted key is not PKCS#8: ${(e as Error).message}`);
  } finally {
    plain.fill(0);
  }
  requireP256(key, what);
  return key;
}

/** A fresh ECDSA P-256 key pair: the encrypted private key (PEM ENCRYPTED SIGSTORE PRIVATE KEY) and the public key (PEM). */
export function generateSigstoreKeyPair(passphrase: Sensitive<string>): { privatePem: string; publicPem: string; fingerprint: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const salt = randomBytes(32);
  const nonce = randomBytes(nacl.secretbox.nonceLength);
  const secret = scryptSync(Buffer.from(passphrase.reveal(), 'utf8'), salt, nacl.secretbox.keyLength, {
    ...SCRYPT,
    maxmem: 256 * SCRYPT.N * SCRYPT.r + (1 << 20),
  });
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  const ciphertext = Buffer.from(nacl.secretbox(pkcs8, nonce, secret));
  secret.fill(0);
  pkcs8.fill(0);
  const doc = {
    kdf: { name: 'scrypt', params: SCRYPT, salt: salt.toString('base64') },
    cipher: { name: 'nacl/secretbox', nonce: nonce.toString('base64') },
    ciphertext: ciphertext.toString('base64'),
  };
  return {
    privatePem: pem(SIGSTORE_PRIVATE_PEM, Buffer.from(JSON.stringify(doc))),
    publicPem: pem('PUBLIC KEY', publicKey.export({ format: 'der', type: 'spki' })),
    fingerprint: sigstoreFingerprint(publicKey),
  };
}
