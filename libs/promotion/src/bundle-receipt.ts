import type * as openpgp from 'openpgp';
import { AirlockError, parseStrictJsonBytes } from '@airlock/common';
import { openSignedMessage, signMessage } from '@airlock/signing';
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
  return signMessage(Buffer.from(canonicalJson({ type: RECEIPT_TYPE, ...r })), key);
}

/** Verifies a receipt against the channel's recipient keys (SIGNATURE_* codes); the JSON is read only after that, strictly. */
export async function readReceipt(bytes: Uint8Array, keys: openpgp.Key[]): Promise<Receipt> {
  const { data } = await openSignedMessage(bytes, keys);
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
