import { readFileSync } from 'node:fs';
import type * as openpgp from 'openpgp';
import { Sensitive } from '@airlock/common';
import { SignatureError } from './errors';
import { readPrivateKey, readPublicKeys } from './keys';

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
export async function readPrivateKeyFile(path: string, passphrase: Sensitive<string> | (() => Sensitive<string> | Promise<Sensitive<string>>), what: string): Promise<openpgp.PrivateKey> {
  const bytes = readKeyFile(path, what);
  return readPrivateKey(bytes, typeof passphrase === 'function' ? await passphrase() : passphrase);
}
