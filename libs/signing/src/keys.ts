import * as openpgp from 'openpgp';
import { Sensitive } from '@airlock/common';
import { SignatureError } from './errors';

export type KeyType = 'ed25519' | 'rsa3072' | 'rsa4096';

/** v4 keys only: gpg 2.2 and containers/image reject v6 keys. */
const KEY_CONFIG = { v6Keys: false, aeadProtect: false } as const;

/** A freshly generated key pair: the private half passphrase-protected, both armored. */
export interface GeneratedKey {
  fingerprint: string;
  privateArmored: string;
  publicArmored: string;
}

/** Facts about a key, for `keys show` and the audit log. */
export interface KeyInfo {
  fingerprint: string;
  keyId: string;
  type: string;
  userIds: string[];
  created: string;
  expires: string | null;
  hasPrivate: boolean;
}

/**
 * Generates an OpenPGP v4 key pair that gpg 2.2 and containers/image accept:
 * a primary key that signs (no signing subkey: skopeo only trusts primary
 * fingerprints) and an encryption subkey for bundles, without the AEAD
 * feature flag (so openpgp encrypts to it in a form gpg 2.2 reads).
 */
export async function generateKeyPair(o: {
  name: string;
  email?: string;
  type?: KeyType;
  passphrase: Sensitive<string>;
  expiresInSeconds?: number;
  date?: Date;
}): Promise<GeneratedKey> {
  if (!o.passphrase.reveal()) throw new SignatureError('KEY_PASSPHRASE', 'a private key must be protected by a non-empty passphrase');
  const type = o.type ?? 'ed25519';
  const common = {
    userIDs: [{ name: o.name, ...(o.email ? { email: o.email } : {}) }],
    passphrase: o.passphrase.reveal(),
    format: 'armored' as const,
    keyExpirationTime: o.expiresInSeconds ?? 0,
    date: o.date,
    config: KEY_CONFIG,
  };
  const { privateKey, publicKey } =
    type === 'ed25519'
      ? await openpgp.generateKey({ ...common, type: 'ecc', curve: 'ed25519Legacy' })
      : await openpgp.generateKey({ ...common, type: 'rsa', rsaBits: type === 'rsa3072' ? 3072 : 4096 });
  const key = await openpgp.readKey({ armoredKey: publicKey });
  return { fingerprint: fingerprintOf(key), privateArmored: privateKey, publicArmored: publicKey };
}

/** Full fingerprint in upper-case hex, the form policy files and gpg print. */
export function fingerprintOf(key: openpgp.Key): string {
  return key.getFingerprint().toUpperCase();
}

function isArmored(bytes: Uint8Array): boolean {
  return Buffer.from(bytes.subarray(0, 64)).toString('latin1').includes('-----BEGIN PGP');
}

/** Reads every public key in armored or binary form (a keyring file may hold several). */
export async function readPublicKeys(bytes: Uint8Array | string): Promise<openpgp.Key[]> {
  try {
    const buf = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
    const keys = isArmored(buf)
      ? await openpgp.readKeys({ armoredKeys: Buffer.from(buf).toString('utf8') })
      : await openpgp.readKeys({ binaryKeys: buf });
    return keys.map((k) => (k.isPrivate() ? k.toPublic() : k));
  } catch (e) {
    throw new SignatureError('KEY_INVALID', `not an OpenPGP public key: ${(e as Error).message}`, {}, { cause: e });
  }
}

/** How a locked key is unlocked: openpgp.decryptKey here, or the same on another thread (a bundle's OpenPGP thread pool). */
export type KeyUnlocker = (key: openpgp.PrivateKey, passphrase: string) => Promise<openpgp.PrivateKey>;

const unlockHere: KeyUnlocker = (privateKey, passphrase) => openpgp.decryptKey({ privateKey, passphrase });

/** Reads a private key and unlocks it with its passphrase. */
export async function readPrivateKey(
  bytes: Uint8Array | string,
  passphrase: Sensitive<string>,
  unlock: KeyUnlocker = unlockHere,
): Promise<openpgp.PrivateKey> {
  let key: openpgp.PrivateKey;
  try {
    const buf = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
    key = isArmored(buf)
      ? await openpgp.readPrivateKey({ armoredKey: Buffer.from(buf).toString('utf8') })
      : await openpgp.readPrivateKey({ binaryKey: buf });
  } catch (e) {
    throw new SignatureError('KEY_INVALID', `not an OpenPGP private key: ${(e as Error).message}`, {}, { cause: e });
  }
  if (key.isDecrypted()) return key;
  try {
    return await unlock(key, passphrase.reveal());
  } catch (e) {
    throw new SignatureError('KEY_PASSPHRASE', `cannot unlock private key ${fingerprintOf(key)}: wrong passphrase`, {}, { cause: e });
  }
}

/** Describes a key without revealing anything secret. */
export async function describeKey(key: openpgp.Key): Promise<KeyInfo> {
  const algo = key.getAlgorithmInfo();
  const bits = 'bits' in algo && algo.bits ? ` ${algo.bits}` : '';
  const curve = 'curve' in algo && algo.curve ? ` ${algo.curve}` : '';
  const exp = await key.getExpirationTime();
  return {
    fingerprint: fingerprintOf(key),
    keyId: key.getKeyID().toHex().toUpperCase(),
    type: `${algo.algorithm}${bits}${curve}`.trim(),
    userIds: key.getUserIDs(),
    created: key.getCreationTime().toISOString(),
    expires: exp instanceof Date ? exp.toISOString() : null,
    hasPrivate: key.isPrivate(),
  };
}
