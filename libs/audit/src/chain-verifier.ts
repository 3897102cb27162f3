import { AuditEvent, GENESIS_HASH, bodyFromFields, canonicalBody, chainHash } from './audit-log';
import { Db } from '@airlock/database';

/** The outcome of walking a chain. */
export type ChainReport = { ok: true; size: number; head: string } | { ok: false; size: number; firstBadSeq: number; reason: string };

/**
 * Walks events in order, recomputing each hash from the previous one: an
 * altered event breaks its own hash, a deleted one leaves a gap, an inserted
 * one breaks the link of the next. Streams, so any size fits in memory.
 */
export class ChainWalker {
  private prev = GENESIS_HASH;
  private expectSeq = 1;
  private bad?: { seq: number; reason: string };
  /** hash at each seq the caller asked to remember (checkpoints). */
  readonly remembered = new Map<number, string>();

  constructor(private readonly remember: Set<number> = new Set()) {}

  /** Feeds the next event; returns false once the chain is broken. */
  push(e: AuditEvent): boolean {
    return this.pushBody(e, canonicalBody(e));
  }

  /** Feeds an event whose canonical body is already known (stored rows: no re-parsing). */
  pushBody(e: { seq: number; prevHash: string; hash: string }, body: string): boolean {
    if (this.bad) return false;
    if (e.seq !== this.expectSeq) {
      this.bad = {
        seq: Math.min(e.seq, this.expectSeq),
        reason: e.seq > this.expectSeq ? `event ${this.expectSeq} is missing (next is ${e.seq})` : `event ${e.seq} is out of order`,
      };
      return false;
    }
    if (e.prevHash !== this.prev) {
      this.bad = { seq: e.seq, reason: `event ${e.seq} does not link to the event before it (prev_hash differs)` };
      return false;
    }
    const h = chainHash(this.prev, body);
    if (h !== e.hash) {
      this.bad = { seq: e.seq, reason: `event ${e.seq} was altered (its content does not match its hash)` };
      return false;
    }
    if (this.remember.has(e.seq)) this.remembered.set(e.seq, h);
    this.prev = h;
    this.expectSeq++;
    return true;
  }

  report(): ChainReport {
    const size = this.expectSeq - 1;
    return this.bad ? { ok: false, size, firstBadSeq: this.bad.seq, reason: this.bad.reason } : { ok: true, size, head: this.prev };
  }
}

/** Walks the whole chain stored in the database. */
export function verifyStoredChain(db: Db, remember: Set<number> = new Set()): { report: ChainReport; remembered: Map<number, string> } {
  const w = new ChainWalker(remember);
  // raw rows (arrays) in a fixed column order: no object per row, no JSON parsing
  const stmt = db
    .prepare(
      'SELECT seq, ts, actor, role, action, promotion_id, stage, image, digest, request_id, details, prev_hash, hash FROM audit_events ORDER BY seq',
    )
    .raw(true);
  for (const r of stmt.iterate() as IterableIterator<unknown[]>) {
    const f = {
      seq: r[0] as number,
      time: r[1] as string,
      actor: r[2] as string,
      role: r[3] as string | null,
      action: r[4] as string,
      promotionId: r[5] as string | null,
      stage: r[6] as string | null,
      image: r[7] as string | null,
      digest: r[8] as string | null,
      requestId: r[9] as string | null,
    };
    if (!w.pushBody({ seq: f.seq, prevHash: r[11] as string, hash: r[12] as string }, bodyFromFields(f, r[10] as string))) break;
  }
  return { report: w.report(), remembered: w.remembered };
}
