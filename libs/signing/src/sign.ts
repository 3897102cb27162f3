import * as openpgp from 'openpgp';
import { buildPayload } from './payload';
import { SignatureError } from './errors';
import { signMessage } from './signed-message';

export const CREATOR = `airlock ${process.env.npm_package_version ?? '0.1.0'}`;

const DIGEST_RE = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

/**
 * Signs `manifestDigest` as `dockerReference` with the key's primary key:
 * a binary OpenPGP signed message over the simple signing payload, the
 * format containers/image reads from a lookaside store.
 */
export async function sign(
  manifestDigest: string,
  dockerReference: string,
  key: openpgp.PrivateKey,
  now: Date = new Date(),
): Promise<Uint8Array> {
  if (!DIGEST_RE.test(manifestDigest))
    throw new SignatureError('INVALID_DIGEST', `cannot sign ${JSON.stringify(manifestDigest)}: not a digest`);
  const payload = buildPayload({ dockerReference, manifestDigest, creator: CREATOR, timestamp: Math.floor(now.getTime() / 1000) });
  return signMessage(payload, key, now);
}
