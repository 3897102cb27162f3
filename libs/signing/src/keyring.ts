import { readFileSync } from 'node:fs';
import type * as openpgp from 'openpgp';
import { Sensitive } from '@airlock/common';
import { SignatureError } from './errors';
import { KeyUnlocker, readPrivateKey, readPublicKeys } from './keys';
import { SigstorePublicKey, isSigstoreKeyFile, readSigstorePrivateKey, readSigstorePublicKey } from './sigstore-key';
import type { KeyObject } from 'node:crypto';

/** The one way a key file is read: a file that cannot be read is KEY_MISSING naming it and what it is for. */
function readKeyFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new SignatureError('KEY_MISSING', `${what}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Every public key in these files (armored or binary, a file may hold several); KEY_MISSING or KEY_INVALID naming the file. */
export async function readPublicKeyFiles(paths: string[], what: string): Promise<openpgp.Key[]> {
  const out: openpgp.Key[] = [];
  for (const p of paths) out.push(...(await readPublicKeys(readKeyFile(p, what))));
  return out;
}

/** A private key file, unlocked with its passphrase; KEY_MISSING, KEY_INVALID or KEY_PASSPHRASE. */
export async function readPrivateKeyFile(
  path: string,
  passphrase: Sensitive<string> | (() => Sensitive<string> | Promise<Sensitive<string>>),
  what: string,
  unlock?: KeyUnlocker,
): Promise<openpgp.PrivateKey> {
  const bytes = readKeyFile(path, what);
  return readPrivateKey(bytes, typeof passphrase === 'function' ? await passphrase() : passphrase, unlock);
}

/** Pinned keys of both dialects, each file told apart by its content (an OpenPGP key block, or a PEM public key). */
export interface TrustedKeys {
  openpgp: openpgp.Key[];
  sigstore: SigstorePublicKey[];
}

/** Every public key in these files, OpenPGP or sigstore; KEY_MISSING or KEY_INVALID naming the file. */
export async function readTrustedKeyFiles(paths: string[], what: string): Promise<TrustedKeys> {
  const out: TrustedKeys = { openpgp: [], sigstore: [] };
  for (const p of paths) {
    const bytes = readKeyFile(p, what);
    if (isSigstoreKeyFile(bytes)) out.sigstore.push(readSigstorePublicKey(bytes, `${what} ${p}`));
    else out.openpgp.push(...(await readPublicKeys(bytes)));
  }
  return out;
}

/** A sigstore public key file; KEY_MISSING or KEY_INVALID naming it. */
export function readSigstorePublicKeyFile(path: string, what: string): SigstorePublicKey {
  return readSigstorePublicKey(readKeyFile(path, what), `${what} ${path}`);
}

/** An encrypted sigstore private key file, unlocked; KEY_MISSING, KEY_INVALID or KEY_PASSPHRASE. */
export async function readSigstorePrivateKeyFile(
  path: string,
  passphrase: Sensitive<string> | (() => Sensitive<string> | Promise<Sensitive<string>>),
  what: string,
): Promise<KeyObject> {
  const bytes = readKeyFile(path, what);
  return readSigstorePrivateKey(bytes, typeof passphrase === 'function' ? await passphrase() : passphrase, `${what} ${path}`);
}
