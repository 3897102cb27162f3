import * as openpgp from 'openpgp';
import { AirlockError, parseStrictJsonBytes } from '@airlock/common';
import { canonicalJson } from '@airlock/audit';

export const RECEIPT_TYPE = 'airlock bundle receipt';

/** What the high side confirms after an import. */
export interface Receipt {
  type: typeof RECEIPT_TYPE;
  bundleId: string;
  channel: string;
  sequence: number;
  importer: string;
  time: string;
  images: { promotionId: string; digest: string; target: string }[];
  /** Every blob digest the high side now holds for these images. */
  blobs: string[];
}

/** Signs a receipt as a binary OpenPGP signed message (gpg --decrypt shows it). */
export async function signReceipt(r: Omit<Receipt, 'type'>, key: openpgp.PrivateKey): Promise<Buffer> {
  const message = await openpgp.createMessage({ binary: Buffer.from(canonicalJson({ type: RECEIPT_TYPE, ...r })) });
  return Buffer.from(await openpgp.sign({ message, signingKeys: key, signingKeyIDs: [key.getKeyID()], format: 'binary' }));
}

/** Verifies a receipt against the channel's recipient keys; the JSON is read only after that. */
export async function readReceipt(bytes: Uint8Array, keys: openpgp.Key[]): Promise<Receipt> {
  let message: openpgp.Message<Uint8Array>;
  try {
    message = await openpgp.readMessage({ binaryMessage: bytes });
  } catch (e) {
    throw new AirlockError('SIGNATURE_FORMAT', `receipt refused: not an OpenPGP signed message (${(e as Error).message})`);
  }
  const [issuer] = message.getSigningKeyIDs();
  const key = issuer && keys.find((k) => k.getKeys(issuer).length > 0);
  if (!key) throw new AirlockError('SIGNATURE_UNTRUSTED_KEY', `receipt refused: signed by ${issuer ? `key ${issuer.toHex().toUpperCase()}` : 'no key'}, not by a recipient key of this channel`);
  let data: Uint8Array;
  try {
    const v = await openpgp.verify({ message, verificationKeys: [key], expectSigned: true, format: 'binary' });
    await v.signatures[0].verified;
    data = v.data as Uint8Array;
  } catch (e) {
    throw new AirlockError('SIGNATURE_INVALID', `receipt refused: its signature does not verify (${(e as Error).message})`);
  }
  let r: Receipt;
  try {
    r = parseStrictJsonBytes(data) as unknown as Receipt;
  } catch (e) {
    throw new AirlockError('BUNDLE_INVALID', `the receipt is not strict JSON: ${(e as Error).message}`);
  }
  const ok =
    r !== null &&
    typeof r === 'object' &&
    r.type === RECEIPT_TYPE &&
    typeof r.bundleId === 'string' &&
    typeof r.channel === 'string' &&
    Number.isSafeInteger(r.sequence) &&
    Array.isArray(r.images) &&
    Array.isArray(r.blobs) &&
    r.blobs.every((b) => typeof b === 'string' && /^sha256:[a-f0-9]{64}$/.test(b));
  if (!ok) throw new AirlockError('BUNDLE_INVALID', 'not an airlock bundle receipt');
  return r;
}
