import { hash } from 'node:crypto';
import { Db, statement } from '@airlock/database';
import { canonicalJson } from './canonical-json';
import type { AuditAction } from './audit-actions';

/** What one audit event says. */
export interface AuditInput {
  actor: string;
  role?: string;
  /** One of the catalogue's actions (audit-actions.ts). */
  action: AuditAction;
  promotionId?: string;
  stage?: string;
  image?: string;
  digest?: string;
  requestId?: string;
  details?: Record<string, unknown>;
  /** Defaults to now. */
  time?: Date;
}

/** A stored event, as read back. */
export interface AuditEvent {
  seq: number;
  time: string;
  actor: string;
  role: string | null;
  action: string;
  promotionId: string | null;
  stage: string | null;
  image: string | null;
  digest: string | null;
  requestId: string | null;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export const GENESIS_HASH = '0'.repeat(64);

/** Appends from this many at once are a bulk load (appendMany). */
const BULK = 10_000;

/**
 * The fields the hash covers, as canonical JSON (keys sorted, no spaces),
 * built from the stored canonical `details` text so that verifying a row
 * never re-parses it. Equal to canonicalJson() of the event without hashes.
 */
export function bodyFromFields(
  f: {
    seq: number;
    time: string;
    actor: string;
    role: string | null;
    action: string;
    promotionId: string | null;
    stage: string | null;
    image: string | null;
    digest: string | null;
    requestId: string | null;
  },
  detailsJson: string,
): string {
  const j = JSON.stringify;
  return `{"action":${j(f.action)},"actor":${j(f.actor)},"details":${detailsJson},"digest":${j(f.digest)},"image":${j(f.image)},"promotionId":${j(f.promotionId)},"requestId":${j(f.requestId)},"role":${j(f.role)},"seq":${f.seq},"stage":${j(f.stage)},"time":${j(f.time)}}`;
}

/** The canonical body of an event (details canonicalized). */
export function eventBody(e: Omit<AuditEvent, 'hash' | 'prevHash'>): string {
  return bodyFromFields(e, canonicalJson(e.details));
}

/** The canonical body of a full event (as read from an export). */
export const canonicalBody = (e: AuditEvent): string => eventBody(e);

/** hash = SHA-256(previous hash + canonical JSON of the event). */
export function chainHash(prevHash: string, body: string): string {
  return hash('sha256', prevHash + body);
}

export interface AuditRow {
  seq: number;
  ts: string;
  actor: string;
  role: string | null;
  action: string;
  promotion_id: string | null;
  stage: string | null;
  image: string | null;
  digest: string | null;
  request_id: string | null;
  details: string;
  prev_hash: string;
  hash: string;
}

/** The fields of a row in the names the hash uses (details stay as stored text). */
export function rowFields(r: AuditRow) {
  return {
    seq: r.seq,
    time: r.ts,
    actor: r.actor,
    role: r.role,
    action: r.action,
    promotionId: r.promotion_id,
    stage: r.stage,
    image: r.image,
    digest: r.digest,
    requestId: r.request_id,
  };
}

/** Maps a database row to an event. */
export function rowToEvent(r: AuditRow): AuditEvent {
  return {
    seq: r.seq,
    time: r.ts,
    actor: r.actor,
    role: r.role,
    action: r.action,
    promotionId: r.promotion_id,
    stage: r.stage,
    image: r.image,
    digest: r.digest,
    requestId: r.request_id,
    details: JSON.parse(r.details) as AuditEvent['details'],
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

/**
 * The append-only, hash-chained audit log. Appends take the chain head inside
 * the caller's (or their own) IMMEDIATE transaction, so writers serialize and
 * the chain stays linear even with a second process (the CLI) writing.
 */
export class AuditLog {
  private readonly insert;
  private readonly head;

  constructor(readonly db: Db) {
    // positional parameters: binding by name costs a lookup per column per row
    this.insert = db.prepare(
      'INSERT INTO audit_events (seq, ts, actor, role, action, promotion_id, stage, image, digest, request_id, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.head = db.prepare('SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1');
  }

  /** Writes one event after `prev` (seq and hash), returning what was written. */
  private write(input: AuditInput, seq: number, prevHash: string): AuditEvent & { detailsJson: string } {
    const detailsJson = canonicalJson(input.details ?? {});
    const f = {
      seq,
      time: (input.time ?? new Date()).toISOString(),
      actor: input.actor,
      role: input.role ?? null,
      action: input.action,
      promotionId: input.promotionId ?? null,
      stage: input.stage ?? null,
      image: input.image ?? null,
      digest: input.digest ?? null,
      requestId: input.requestId ?? null,
    };
    const h = chainHash(prevHash, bodyFromFields(f, detailsJson));
    this.insert.run(
      seq,
      f.time,
      f.actor,
      f.role,
      f.action,
      f.promotionId,
      f.stage,
      f.image,
      f.digest,
      f.requestId,
      detailsJson,
      prevHash,
      h,
    );
    return { ...f, details: {}, detailsJson, prevHash, hash: h };
  }

  /** Appends one event; call inside a transaction to make it part of a larger change. */
  append(input: AuditInput): AuditEvent {
    const run = () => {
      const last = this.head.get() as { seq: number; hash: string } | undefined;
      const { detailsJson, ...e } = this.write(input, (last?.seq ?? 0) + 1, last?.hash ?? GENESIS_HASH);
      return { ...e, details: JSON.parse(detailsJson) as AuditEvent['details'] };
    };
    return this.db.inTransaction ? run() : this.db.transaction(run).immediate();
  }

  /**
   * Appends many events in one transaction, reading the chain head once:
   * for imports and bulk loads. Returns the new head.
   */
  appendMany(inputs: AuditInput[]): { size: number; head: string } {
    // a bulk load holds up to 128 MiB of pages while it runs (SQLite's default is 2 MiB): the indexes by digest and
    // actor take events at scattered places, and once they outgrow the cache every append reads and rewrites pages
    // (the audit benchmark: about 23,800 appends/s at the default, 26,000-32,500 with this). Not for good: a cache that
    // large made full scans (verification, export) a third slower.
    const bulk = inputs.length >= BULK && !this.db.inTransaction;
    const before = bulk ? (this.db.pragma('cache_size', { simple: true }) as number) : 0;
    if (bulk) this.db.pragma('cache_size = -131072');
    try {
      return this.db
        .transaction(() => {
          const last = this.head.get() as { seq: number; hash: string } | undefined;
          let seq = last?.seq ?? 0;
          let prev = last?.hash ?? GENESIS_HASH;
          for (const input of inputs) prev = this.write(input, ++seq, prev).hash;
          return { size: seq, head: prev };
        })
        .immediate();
    } finally {
      if (bulk) this.db.pragma(`cache_size = ${before}`);
    }
  }

  /** Events of one promotion, in order. */
  forPromotion(promotionId: string): AuditEvent[] {
    return (statement(this.db, 'SELECT * FROM audit_events WHERE promotion_id = ? ORDER BY seq').all(promotionId) as AuditRow[]).map(
      rowToEvent,
    );
  }

  /** Number of events and the head hash. */
  headInfo(): { size: number; head: string } {
    const last = this.head.get() as { seq: number; hash: string } | undefined;
    return { size: last?.seq ?? 0, head: last?.hash ?? GENESIS_HASH };
  }
}
