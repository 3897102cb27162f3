import { createHash } from 'node:crypto';
import { Db } from './database';
import { canonicalJson } from './canonical-json';

/** What one audit event says. */
export interface AuditInput {
  actor: string;
  role?: string;
  action: string;
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

/** The fields the hash covers, in canonical form. */
export function eventBody(e: Omit<AuditEvent, 'hash' | 'prevHash'>): string {
  return canonicalJson({
    seq: e.seq,
    time: e.time,
    actor: e.actor,
    role: e.role,
    action: e.action,
    promotionId: e.promotionId,
    stage: e.stage,
    image: e.image,
    digest: e.digest,
    requestId: e.requestId,
    details: e.details,
  });
}

/** hash = SHA-256(previous hash + canonical JSON of the event). */
export function chainHash(prevHash: string, body: string): string {
  return createHash('sha256').update(prevHash).update(body).digest('hex');
}

interface Row {
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

/** Maps a database row to an event. */
export function rowToEvent(r: Row): AuditEvent {
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
    details: JSON.parse(r.details),
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
    this.insert = db.prepare(
      'INSERT INTO audit_events (seq, ts, actor, role, action, promotion_id, stage, image, digest, request_id, details, prev_hash, hash) VALUES (@seq, @ts, @actor, @role, @action, @promotion_id, @stage, @image, @digest, @request_id, @details, @prev_hash, @hash)',
    );
    this.head = db.prepare('SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1');
  }

  /** Appends one event; call inside a transaction to make it part of a larger change. */
  append(input: AuditInput): AuditEvent {
    const run = () => {
      const last = this.head.get() as { seq: number; hash: string } | undefined;
      const e: Omit<AuditEvent, 'hash' | 'prevHash'> = {
        seq: (last?.seq ?? 0) + 1,
        time: (input.time ?? new Date()).toISOString(),
        actor: input.actor,
        role: input.role ?? null,
        action: input.action,
        promotionId: input.promotionId ?? null,
        stage: input.stage ?? null,
        image: input.image ?? null,
        digest: input.digest ?? null,
        requestId: input.requestId ?? null,
        details: JSON.parse(canonicalJson(input.details ?? {})),
      };
      const prevHash = last?.hash ?? GENESIS_HASH;
      const hash = chainHash(prevHash, eventBody(e));
      this.insert.run({
        seq: e.seq,
        ts: e.time,
        actor: e.actor,
        role: e.role,
        action: e.action,
        promotion_id: e.promotionId,
        stage: e.stage,
        image: e.image,
        digest: e.digest,
        request_id: e.requestId,
        details: JSON.stringify(e.details),
        prev_hash: prevHash,
        hash,
      });
      return { ...e, prevHash, hash };
    };
    return this.db.inTransaction ? run() : this.db.transaction(run).immediate();
  }

  /** Events of one promotion, in order. */
  forPromotion(promotionId: string): AuditEvent[] {
    return (this.db.prepare('SELECT * FROM audit_events WHERE promotion_id = ? ORDER BY seq').all(promotionId) as Row[]).map(rowToEvent);
  }

  /** Number of events and the head hash. */
  headInfo(): { size: number; head: string } {
    const last = this.head.get() as { seq: number; hash: string } | undefined;
    return { size: last?.seq ?? 0, head: last?.hash ?? GENESIS_HASH };
  }
}
