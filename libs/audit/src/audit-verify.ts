import type { Key } from 'openpgp';
import { Db } from '@airlock/database';
import { ChainReport, ChainWalker } from './chain-verifier';
import { verifyStoredChainInParallel } from './chain-threads';
import { listCheckpoints, verifyCheckpoint } from './checkpoints';
import { AuditEvent } from './audit-log';

export interface VerifyReport {
  chain: ChainReport;
  checkpoints: { id: number; size: number; ok: boolean; reason?: string }[];
  ok: boolean;
}

/** Walks the whole chain and checks every stored checkpoint against it and against the audit keys. */
export async function verifyAudit(db: Db, auditKeys: Key[]): Promise<VerifyReport> {
  const cps = listCheckpoints(db);
  const { report, remembered } = await verifyStoredChainInParallel(db, new Set(cps.map((c) => c.size)));
  const checkpoints: VerifyReport['checkpoints'] = [];
  for (const c of cps) {
    try {
      const claim = await verifyCheckpoint(c.signature, auditKeys);
      if (claim.size !== c.size || claim.head !== c.head)
        checkpoints.push({ id: c.id, size: c.size, ok: false, reason: 'stored fields differ from the signed claim' });
      else if (c.size > report.size)
        checkpoints.push({
          id: c.id,
          size: c.size,
          ok: false,
          reason: `the chain verifies only up to ${report.size} events; the checkpoint covers ${c.size}`,
        });
      else if (c.size > 0 && remembered.get(c.size) !== c.head)
        checkpoints.push({ id: c.id, size: c.size, ok: false, reason: `event ${c.size} no longer hashes to the signed head` });
      else checkpoints.push({ id: c.id, size: c.size, ok: true });
    } catch (e) {
      checkpoints.push({ id: c.id, size: c.size, ok: false, reason: (e as Error).message });
    }
  }
  return { chain: report, checkpoints, ok: report.ok && checkpoints.every((c) => c.ok) };
}

/**
 * Offline check of an exported chain (JSON lines from event 1) against a
 * signed checkpoint: every hash recomputed, and the event at the
 * checkpoint's size must carry the head it signed.
 */
export async function verifyExport(
  lines: AsyncIterable<string>,
  checkpoint: Uint8Array,
  keys: Key[],
): Promise<{ ok: boolean; size: number; checkpointSize: number; reason?: string }> {
  const claim = await verifyCheckpoint(checkpoint, keys);
  const w = new ChainWalker(new Set([claim.size]));
  for await (const line of lines) {
    if (!line.trim()) continue;
    let e: AuditEvent;
    try {
      e = JSON.parse(line) as AuditEvent;
    } catch {
      return { ok: false, size: w.report().size, checkpointSize: claim.size, reason: 'a line of the export is not JSON' };
    }
    if (!w.push(e)) break;
  }
  const r = w.report();
  if (!r.ok) return { ok: false, size: r.size, checkpointSize: claim.size, reason: `${r.reason} (first bad event ${r.firstBadSeq})` };
  if (r.size < claim.size)
    return {
      ok: false,
      size: r.size,
      checkpointSize: claim.size,
      reason: `the export has ${r.size} events; the checkpoint covers ${claim.size}`,
    };
  if (claim.size > 0 && w.remembered.get(claim.size) !== claim.head)
    return { ok: false, size: r.size, checkpointSize: claim.size, reason: `event ${claim.size} does not carry the signed head` };
  return { ok: true, size: r.size, checkpointSize: claim.size };
}
