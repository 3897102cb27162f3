import { AirlockError } from '@airlock/common';
import { Db, statement } from '@airlock/database';
import { AuditEvent, rowToEvent } from './audit-log';
import { AUDIT_ACTIONS, isAuditAction } from './audit-actions';

/** Filters an auditor may combine; every value is bound as a parameter. */
export interface AuditFilter {
  actor?: string;
  action?: string;
  /**
   * A repository (`qa.example/team/app`: its events whatever the tag or
   * digest, never those of `team/app2`) or a full reference (`...:1.0`,
   * `...@sha256:...`: exactly that). Events record the target; a promotion
   * whose request named this image as its source is found too.
   */
  image?: string;
  digest?: string;
  stage?: string;
  promotionId?: string;
  since?: string;
  until?: string;
}

export const SORTS = ['seq', '-seq', 'time', '-time'] as const;
export type AuditSort = (typeof SORTS)[number];

function likePrefix(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`) + '%';
}

function isoOrFail(v: string, name: string): string {
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new AirlockError('INVALID_ARGUMENT', `${name} must be an ISO 8601 time`);
  return new Date(t).toISOString();
}

/** WHERE clause and parameters for a filter. */
export function whereOf(f: AuditFilter): { sql: string; args: Record<string, unknown> } {
  const w: string[] = [];
  const args: Record<string, unknown> = {};
  const eq = (col: string, key: keyof AuditFilter) => {
    if (f[key] !== undefined && f[key] !== '') {
      w.push(`${col} = @${key}`);
      args[key] = f[key];
    }
  };
  if (f.action && !isAuditAction(f.action)) {
    throw new AirlockError(
      'INVALID_ARGUMENT',
      `no audit action named ${JSON.stringify(f.action.slice(0, 64))} (a failure is promotion.state with to=failed); the actions are listed at GET /api/v1/audit/actions: ${Object.keys(AUDIT_ACTIONS).slice(0, 6).join(', ')}, ...`,
    );
  }
  eq('actor', 'actor');
  eq('action', 'action');
  eq('digest', 'digest');
  eq('stage', 'stage');
  eq('promotion_id', 'promotionId');
  if (f.image) {
    args.image = f.image;
    const last = f.image.slice(f.image.lastIndexOf('/') + 1);
    const exact = /[:@]/.test(last);
    if (!exact) {
      args.imageTagged = likePrefix(`${f.image}:`);
      args.imageDigested = likePrefix(`${f.image}@`);
    }
    const matches = (col: string) =>
      exact ? `${col} = @image` : `(${col} = @image OR ${col} LIKE @imageTagged ESCAPE '\\' OR ${col} LIKE @imageDigested ESCAPE '\\')`;
    w.push(
      `(${matches('image')} OR promotion_id IN (SELECT promotion_id FROM audit_events WHERE action IN ('promotion.requested', 'promotion.imported') AND (${matches("json_extract(details, '$.source')")} OR ${matches("json_extract(details, '$.requested')")})))`,
    );
  }
  if (f.since) {
    w.push('ts >= @since');
    args.since = isoOrFail(f.since, 'since');
  }
  if (f.until) {
    w.push('ts < @until');
    args.until = isoOrFail(f.until, 'until');
  }
  return { sql: w.length ? w.join(' AND ') : '1=1', args };
}

/**
 * A page of events. The cursor is the last seq returned: it stays stable
 * while events are appended (new events never shift a page), so a client
 * paging through sees every event exactly once.
 */
export function queryEvents(
  db: Db,
  f: AuditFilter,
  o: { sort?: string; limit?: number; cursor?: string } = {},
): { items: AuditEvent[]; nextCursor: string | null } {
  const sort = (o.sort ?? 'seq') as AuditSort;
  if (!(SORTS as readonly string[]).includes(sort))
    throw new AirlockError(
      'INVALID_SORT',
      `cannot sort by ${JSON.stringify(String(o.sort).slice(0, 40))}; sort by one of ${SORTS.join(', ')}`,
    );
  const desc = sort.startsWith('-');
  const limit = Math.min(Math.max(o.limit ?? 100, 1), 1000);
  const { sql, args } = whereOf(f);
  let cursorSql = '';
  if (o.cursor) {
    const n = Number(Buffer.from(o.cursor, 'base64url').toString());
    if (!Number.isSafeInteger(n) || n < 0) throw new AirlockError('INVALID_ARGUMENT', 'cursor is not one this API gave out');
    cursorSql = desc ? ' AND seq < @cursor' : ' AND seq > @cursor';
    args.cursor = n;
  }
  // time order is seq order (one writer appends in time order); both keyset on seq
  const rows = statement(db, `SELECT * FROM audit_events WHERE ${sql}${cursorSql} ORDER BY seq ${desc ? 'DESC' : 'ASC'} LIMIT @limit`).all({
    ...args,
    limit: limit + 1,
  });
  const items = rows.slice(0, limit).map((r) => rowToEvent(r as never));
  return { items, nextCursor: rows.length > limit ? Buffer.from(String(items[items.length - 1].seq)).toString('base64url') : null };
}

/** One event by sequence number. */
export function getEvent(db: Db, seq: number): AuditEvent | undefined {
  const r = statement(db, 'SELECT * FROM audit_events WHERE seq = ?').get(seq);
  return r ? rowToEvent(r as never) : undefined;
}

/** One state change of a promotion, as its `promotion.state` event recorded it. */
export interface StateChange {
  seq: number;
  at: string;
  from: string;
  to: string;
  step?: string;
  code?: string;
  message?: string;
}

/** A promotion's state changes after event `afterSeq`, oldest first: every one, however quickly they followed each other. */
export function stateChangesAfter(db: Db, promotionId: string, afterSeq: number): StateChange[] {
  const rows = statement(
    db,
    "SELECT seq, ts, details FROM audit_events WHERE promotion_id = ? AND seq > ? AND action = 'promotion.state' ORDER BY seq",
  ).all(promotionId, afterSeq) as { seq: number; ts: string; details: string }[];
  return rows.map((r) => {
    const d = JSON.parse(r.details) as Record<string, unknown>;
    const c: StateChange = { seq: r.seq, at: r.ts, from: String(d.from), to: String(d.to) };
    for (const k of ['step', 'code', 'message'] as const) if (typeof d[k] === 'string') c[k] = d[k];
    return c;
  });
}
