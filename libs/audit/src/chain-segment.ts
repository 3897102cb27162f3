import type { bodyFromFields, chainHash } from './audit-log';

/** The database handle a segment reads from (better-sqlite3's, in whichever thread). */
export interface SegmentDb {
  prepare(sql: string): {
    raw(on: boolean): { iterate(...params: unknown[]): IterableIterator<unknown>; get(...params: unknown[]): unknown };
  };
}

/** What checking one run of stored events found. */
export interface Segment {
  from: number;
  to: number;
  /** prev_hash stored on event `from` (null when that event is missing). */
  firstPrev: string | null;
  /** hash stored on the last event checked. */
  lastHash: string | null;
  /** the first bad event and why; `missing` when it is the event itself that is not there. */
  bad?: { seq: number; reason: string; missing: boolean };
  /** [seq, hash] of the events the caller asked to remember (checkpoints). */
  remembered: [number, string][];
}

/*
 * checkSegment serves both sides: the verification threads run it from its
 * source text (chain-threads.ts), so it names nothing outside itself (the
 * chain's hash and the canonical body come as arguments), and coverage tools must leave
 * it as written.
 */

/**
 * Checks events `from`..`to` as stored: each is there, in order; each hashes
 * (SHA-256 of its stored prev_hash and canonical body) to its stored hash;
 * each after the first links to the one before it. Events hash independently
 * of each other, so runs can be checked on several threads at once; the
 * links between runs are the caller's to check (joinSegments).
 */
/* istanbul ignore next */
export function checkSegment(
  db: SegmentDb,
  from: number,
  to: number,
  remember: number[],
  hashOf: typeof chainHash,
  body: typeof bodyFromFields,
): Segment {
  const out: Segment = { from, to, firstPrev: null, lastHash: null, remembered: [] };
  const keep = new Set(remember);
  const stmt = db
    .prepare(
      'SELECT seq, ts, actor, role, action, promotion_id, stage, image, digest, request_id, details, prev_hash, hash FROM audit_events WHERE seq BETWEEN ? AND ? ORDER BY seq',
    )
    .raw(true);
  let expect = from;
  rows: for (const r of stmt.iterate(from, to) as IterableIterator<unknown[]>) {
    const seq = r[0] as number;
    const prev = r[11] as string;
    const hash = r[12] as string;
    if (seq !== expect) {
      out.bad = {
        seq: Math.min(seq, expect),
        reason: seq > expect ? `event ${expect} is missing (next is ${seq})` : `event ${seq} is out of order`,
        missing: seq > expect,
      };
      break rows;
    }
    if (seq === from) out.firstPrev = prev;
    else if (prev !== out.lastHash) {
      out.bad = { seq, reason: `event ${seq} does not link to the event before it (prev_hash differs)`, missing: false };
      break rows;
    }
    const f = {
      seq,
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
    if (hashOf(prev, body(f, r[10] as string)) !== hash) {
      out.bad = { seq, reason: `event ${seq} was altered (its content does not match its hash)`, missing: false };
      break rows;
    }
    if (keep.has(seq)) out.remembered.push([seq, hash]);
    out.lastHash = hash;
    expect++;
  }
  if (!out.bad && expect <= to) {
    // the run ends before `to`: name the next event stored, as a walk of the whole chain would
    const next = (db.prepare('SELECT MIN(seq) FROM audit_events WHERE seq > ?').raw(true).get(expect) as [number | null])[0];
    out.bad = { seq: expect, reason: `event ${expect} is missing${next === null ? '' : ` (next is ${next})`}`, missing: true };
  }
  return out;
}
