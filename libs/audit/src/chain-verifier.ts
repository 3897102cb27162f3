import { AuditEvent, GENESIS_HASH, chainHash, eventBody, rowToEvent } from './audit-log';
import { Db } from './database';

/** The outcome of walking a chain. */
export type ChainReport =
  | { ok: true; size: number; head: string }
  | { ok: false; size: number; firstBadSeq: number; reason: string };

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
    if (this.bad) return false;
    if (e.seq !== this.expectSeq) {
      this.bad = { seq: Math.min(e.seq, this.expectSeq), reason: e.seq > this.expectSeq ? `event ${this.expectSeq} is missing (next is ${e.seq})` : `event ${e.seq} is out of order` };
      return false;
    }
    if (e.prevHash !== this.prev) {
      this.bad = { seq: e.seq, reason: `event ${e.seq} does not link to the event before it (prev_hash differs)` };
      return false;
    }
    const h = chainHash(this.prev, eventBody(e));
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
  for (const row of db.prepare('SELECT * FROM audit_events ORDER BY seq').iterate()) {
    let e: AuditEvent;
    try {
      e = rowToEvent(row as never);
    } catch {
      const seq = (row as { seq: number }).seq;
      return { report: { ok: false, size: seq - 1, firstBadSeq: seq, reason: `event ${seq} is unreadable` }, remembered: w.remembered };
    }
    if (!w.push(e)) break;
  }
  return { report: w.report(), remembered: w.remembered };
}
