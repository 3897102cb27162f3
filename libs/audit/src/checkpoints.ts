import type * as openpgp from 'openpgp';
import { AirlockError, parseStrictJsonBytes } from '@airlock/common';
import { openSignedMessage, signMessage } from '@airlock/signing';
import { Db } from '@airlock/database';
import { canonicalJson } from './canonical-json';

export const CHECKPOINT_TYPE = 'airlock audit checkpoint';

/** What a checkpoint asserts: the chain had `size` events ending in `head` at `time`. */
export interface CheckpointClaim {
  type: typeof CHECKPOINT_TYPE;
  size: number;
  head: string;
  time: string;
}

export interface StoredCheckpoint extends Omit<CheckpointClaim, 'type'> {
  id: number;
  keyFingerprint: string;
  signature: Buffer;
}

/** Signs a checkpoint claim as a binary OpenPGP signed message (gpg --decrypt shows the JSON). */
export async function signCheckpoint(claim: Omit<CheckpointClaim, 'type'>, key: openpgp.PrivateKey): Promise<Buffer> {
  return signMessage(Buffer.from(canonicalJson({ type: CHECKPOINT_TYPE, ...claim })), key);
}

/** Verifies a checkpoint signature against pinned keys and returns the claim (read strictly, only after the signature checked out). */
export async function verifyCheckpoint(
  signature: Uint8Array,
  trustedKeys: openpgp.Key[],
): Promise<CheckpointClaim & { keyFingerprint: string }> {
  let opened;
  try {
    opened = await openSignedMessage(signature, trustedKeys);
  } catch (e) {
    throw new AirlockError('CHECKPOINT_INVALID', `checkpoint refused: ${(e as Error).message}`);
  }
  let claim: CheckpointClaim;
  try {
    claim = parseStrictJsonBytes(opened.data) as unknown as CheckpointClaim;
  } catch {
    throw new AirlockError('CHECKPOINT_INVALID', 'checkpoint payload is not JSON');
  }
  if (
    claim === null ||
    typeof claim !== 'object' ||
    claim.type !== CHECKPOINT_TYPE ||
    !Number.isSafeInteger(claim.size) ||
    typeof claim.head !== 'string' ||
    !/^[a-f0-9]{64}$/.test(claim.head)
  )
    throw new AirlockError('CHECKPOINT_INVALID', 'checkpoint payload is not an airlock checkpoint');
  return { ...claim, keyFingerprint: opened.keyFingerprint };
}

/** Stored checkpoints, oldest first. */
export function listCheckpoints(db: Db): StoredCheckpoint[] {
  return (
    db.prepare('SELECT * FROM audit_checkpoints ORDER BY id').all() as {
      id: number;
      size: number;
      head: string;
      ts: string;
      key_fingerprint: string;
      signature: Buffer;
    }[]
  ).map((r) => ({
    id: r.id,
    size: r.size,
    head: r.head,
    time: r.ts,
    keyFingerprint: r.key_fingerprint,
    signature: r.signature,
  }));
}

/** Records a signed checkpoint of the chain as it is now. */
export async function createCheckpoint(db: Db, key: openpgp.PrivateKey): Promise<StoredCheckpoint> {
  const head = db.prepare('SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1').get() as
    { seq: number; hash: string } | undefined;
  const claim = { size: head?.seq ?? 0, head: head?.hash ?? '0'.repeat(64), time: new Date().toISOString() };
  const signature = await signCheckpoint(claim, key);
  const fpr = key.getFingerprint().toUpperCase();
  const r = db
    .prepare('INSERT INTO audit_checkpoints (size, head, ts, key_fingerprint, signature) VALUES (?, ?, ?, ?, ?)')
    .run(claim.size, claim.head, claim.time, fpr, signature);
  return { id: Number(r.lastInsertRowid), ...claim, keyFingerprint: fpr, signature };
}
