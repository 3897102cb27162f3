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
 *
 * SQLite renders each body (`json_quote` of each field, in the canonical
 * order: three text columns cross into JavaScript instead of thirteen, and no
 * body is built here; a third less time per event). json_quote and
 * JSON.stringify are both JSON encoders, so a rendering that hashes to the
 * stored hash holds the very values that were hashed when the event was
 * appended. An event whose rendering does not match is judged by the
 * canonical body itself (`body`, the one rule): only then is it altered.
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
  // a BLOB (never stored by the appender) has no JSON form: its rendering is NULL and the event is judged the long way
  const q = (c: string) => `iif(typeof(${c}) = 'blob', NULL, json_quote(${c}))`;
  const rendered =
    `'{"action":'||${q('action')}||',"actor":'||${q('actor')}||',"details":'||details||',"digest":'||${q('digest')}` +
    `||',"image":'||${q('image')}||',"promotionId":'||${q('promotion_id')}||',"requestId":'||${q('request_id')}` +
    `||',"role":'||${q('role')}||',"seq":'||seq||',"stage":'||${q('stage')}||',"time":'||${q('ts')}||'}'`;
  const stmt = db.prepare(`SELECT seq, prev_hash, hash, ${rendered} FROM audit_events WHERE seq BETWEEN ? AND ? ORDER BY seq`).raw(true);
  const whole = db
    .prepare('SELECT seq, ts, actor, role, action, promotion_id, stage, image, digest, request_id, details FROM audit_events WHERE seq = ?')
    .raw(true);
  /** The event's canonical body from its fields, as the appender built it. */
  const canonical = (seq: number): string => {
    const r = whole.get(seq) as unknown[];
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
    return body(f, r[10] as string);
  };
  let expect = from;
  rows: for (const r of stmt.iterate(from, to) as IterableIterator<unknown[]>) {
    const seq = r[0] as number;
    const prev = r[1] as string;
    const hash = r[2] as string;
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
    if (hashOf(prev, r[3] as string) !== hash && hashOf(prev, canonical(seq)) !== hash) {
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
