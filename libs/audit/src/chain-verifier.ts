import { AuditEvent, GENESIS_HASH, bodyFromFields, canonicalBody, chainHash } from './audit-log';
import { Db } from '@airlock/database';
import { Segment, checkSegment } from './chain-segment';

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

/** The last event stored (0 when none): the chain a verification covers ends there, whatever is appended meanwhile. */
export function storedHead(db: Db): number {
  return (db.prepare('SELECT COALESCE(MAX(seq), 0) AS n FROM audit_events').get() as { n: number }).n;
}

/**
 * Joins the checks of consecutive runs of events 1..N into one report: the
 * first bad event of the first run that has one, unless the run's first event
 * does not link to the last event of the run before it (or to the genesis
 * hash), which comes first.
 */
export function joinSegments(segments: Segment[]): { report: ChainReport; remembered: Map<number, string> } {
  const remembered = new Map<number, string>();
  let head = GENESIS_HASH;
  let size = 0;
  const broken = (seq: number, reason: string) => ({ report: { ok: false as const, size: seq - 1, firstBadSeq: seq, reason }, remembered });
  for (const s of segments) {
    if (s.bad?.missing && s.bad.seq === s.from) return broken(s.bad.seq, s.bad.reason);
    if (s.firstPrev !== head) return broken(s.from, `event ${s.from} does not link to the event before it (prev_hash differs)`);
    for (const [seq, h] of s.remembered) remembered.set(seq, h);
    if (s.bad) return broken(s.bad.seq, s.bad.reason);
    head = s.lastHash ?? head;
    size = s.to;
  }
  return { report: { ok: true, size, head }, remembered };
}

/** Walks the whole chain stored in the database, on this thread (chain-threads.ts spreads a long one over several). */
export function verifyStoredChain(db: Db, remember: Set<number> = new Set()): { report: ChainReport; remembered: Map<number, string> } {
  const n = storedHead(db);
  return joinSegments(n ? [checkSegment(db, 1, n, [...remember], chainHash, bodyFromFields)] : []);
}
