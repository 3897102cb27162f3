import { Db, rawStatement, statement } from '@airlock/database';
import type { PromotionState } from './promotion-lifecycle';

export interface PromotionRow {
  id: string;
  image: string;
  source_ref: string;
  target_ref: string;
  digest: string;
  media_type: string;
  from_stage: string;
  to_stage: string;
  reason: string;
  requester: string;
  state: PromotionState;
  approvals_required: number;
  attempt: number;
  error_code: string | null;
  error_message: string | null;
  bytes_done: number;
  bytes_total: number;
  result: string | null;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
  /** The platforms chosen from an index, comma-separated (null: every platform, the image as it is). */
  platforms: string | null;
  /** The digest of the subset index that lands when platforms are chosen (null: the digest itself). */
  target_digest: string | null;
  rowid?: number;
}

export interface ApprovalRow {
  promotion_id: string;
  approver: string;
  role: string;
  comment: string;
  created_at: string;
}

export interface StepRow {
  promotion_id: string;
  attempt: number;
  name: string;
  state: string;
  started_at: string;
  finished_at: string | null;
  detail: string | null;
}

export interface ListFilter {
  state?: string;
  stage?: string;
  image?: string;
  requester?: string;
  limit: number;
  before?: number;
}

/** The stored fields of a promotion, in the order insert names them and rowOf reads them (after rowid). */
const FIELDS = [
  'id',
  'image',
  'source_ref',
  'target_ref',
  'digest',
  'media_type',
  'from_stage',
  'to_stage',
  'reason',
  'requester',
  'state',
  'approvals_required',
  'attempt',
  'error_code',
  'error_message',
  'bytes_done',
  'bytes_total',
  'result',
  'created_at',
  'updated_at',
  'finished_at',
  'platforms',
  'target_digest',
] as const satisfies readonly (keyof PromotionRow)[];
const COLUMNS = `rowid, ${FIELDS.join(', ')}`;
const INSERT = `INSERT INTO promotions (${FIELDS.join(', ')}) VALUES (${FIELDS.map((f) => `@${f}`).join(', ')})`;

/** A raw row of COLUMNS as a PromotionRow (one literal shape: half the time of better-sqlite3's own row objects, see rawStatement). */
function rowOf(r: unknown[]): PromotionRow {
  return {
    rowid: r[0] as number,
    id: r[1] as string,
    image: r[2] as string,
    source_ref: r[3] as string,
    target_ref: r[4] as string,
    digest: r[5] as string,
    media_type: r[6] as string,
    from_stage: r[7] as string,
    to_stage: r[8] as string,
    reason: r[9] as string,
    requester: r[10] as string,
    state: r[11] as PromotionState,
    approvals_required: r[12] as number,
    attempt: r[13] as number,
    error_code: r[14] as string | null,
    error_message: r[15] as string | null,
    bytes_done: r[16] as number,
    bytes_total: r[17] as number,
    result: r[18] as string | null,
    created_at: r[19] as string,
    updated_at: r[20] as string,
    finished_at: r[21] as string | null,
    platforms: r[22] as string | null,
    target_digest: r[23] as string | null,
  };
}

/** Escapes LIKE wildcards so a filter value matches literally. */
export function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** SQL for promotions, approvals and steps. All values are bound parameters. */
export class PromotionStore {
  constructor(readonly db: Db) {}

  insert(r: Omit<PromotionRow, 'rowid'>): void {
    statement(this.db, INSERT).run(r);
  }

  get(id: string): PromotionRow | undefined {
    const r = rawStatement(this.db, `SELECT ${COLUMNS} FROM promotions WHERE id = ?`).get(id) as unknown[] | undefined;
    return r && rowOf(r);
  }

  update(id: string, fields: Partial<PromotionRow>): void {
    const keys = Object.keys(fields).filter((k) => k !== 'id' && k !== 'rowid');
    if (!keys.length) return;
    statement(this.db, `UPDATE promotions SET ${keys.map((k) => `${k} = @${k}`).join(', ')}, updated_at = @__now WHERE id = @__id`).run({
      ...fields,
      __now: new Date().toISOString(),
      __id: id,
    });
  }

  /** Marks a promotion as handled now without changing it (a resend restarts its clock). */
  touch(id: string): void {
    statement(this.db, 'UPDATE promotions SET updated_at = ? WHERE id = ?').run(new Date().toISOString(), id);
  }

  approvals(id: string): ApprovalRow[] {
    return statement(this.db, 'SELECT * FROM approvals WHERE promotion_id = ? ORDER BY created_at, approver').all(id) as ApprovalRow[];
  }

  /** Approvals of many promotions in one query (list pages), by promotion id. */
  approvalsFor(ids: string[]): Map<string, ApprovalRow[]> {
    const out = new Map<string, ApprovalRow[]>(ids.map((id) => [id, []]));
    if (!ids.length) return out;
    const rows = statement(
      this.db,
      `SELECT * FROM approvals WHERE promotion_id IN (${ids.map(() => '?').join(',')}) ORDER BY created_at, approver`,
    ).all(...ids) as ApprovalRow[];
    for (const r of rows) out.get(r.promotion_id)?.push(r);
    return out;
  }

  addApproval(a: ApprovalRow): boolean {
    return (
      statement(
        this.db,
        'INSERT OR IGNORE INTO approvals (promotion_id, approver, role, comment, created_at) VALUES (@promotion_id, @approver, @role, @comment, @created_at)',
      ).run(a).changes === 1
    );
  }

  /** In the order they ran: started_at has millisecond ties (verify and copy often start in one), which insertion order breaks. */
  steps(id: string): StepRow[] {
    return statement(this.db, 'SELECT * FROM steps WHERE promotion_id = ? ORDER BY attempt, started_at, rowid').all(id) as StepRow[];
  }

  /** Marks a step started (once) or finished. Returns true when this call changed something. */
  step(id: string, attempt: number, name: string, status: 'started' | 'done' | 'failed', detail?: unknown): boolean {
    const now = new Date().toISOString();
    if (status === 'started') {
      return (
        statement(
          this.db,
          "INSERT OR IGNORE INTO steps (promotion_id, attempt, name, state, started_at) VALUES (?, ?, ?, 'running', ?)",
        ).run(id, attempt, name, now).changes === 1
      );
    }
    statement(this.db, "INSERT OR IGNORE INTO steps (promotion_id, attempt, name, state, started_at) VALUES (?, ?, ?, 'running', ?)").run(
      id,
      attempt,
      name,
      now,
    );
    return (
      statement(
        this.db,
        "UPDATE steps SET state = ?, finished_at = ?, detail = ? WHERE promotion_id = ? AND attempt = ? AND name = ? AND state = 'running'",
      ).run(status, now, detail === undefined ? null : JSON.stringify(detail), id, attempt, name).changes === 1
    );
  }

  /** Promotions by state and target stage (metrics). */
  countsByStateAndStage(): { state: string; stage: string; n: number }[] {
    return statement(this.db, 'SELECT state, to_stage AS stage, COUNT(*) AS n FROM promotions GROUP BY state, to_stage').all() as {
      state: string;
      stage: string;
      n: number;
    }[];
  }

  /** Failed promotions by error code (metrics). */
  failuresByCode(): { code: string | null; n: number }[] {
    return statement(
      this.db,
      "SELECT error_code AS code, COUNT(*) AS n FROM promotions WHERE state = 'failed' GROUP BY error_code",
    ).all() as {
      code: string | null;
      n: number;
    }[];
  }

  /** Bytes moved by completed promotions (metrics). */
  bytesCopied(): number {
    return (statement(this.db, "SELECT COALESCE(SUM(bytes_done), 0) AS n FROM promotions WHERE state = 'completed'").get() as { n: number })
      .n;
  }

  /** Steps finished, in key order after `afterKey` (promotion.attempt.name), for a histogram fed scrape by scrape. */
  stepsFinishedAfter(afterKey: string): { k: string; name: string; started_at: string; finished_at: string }[] {
    return statement(
      this.db,
      "SELECT promotion_id || '.' || attempt || '.' || name AS k, name, started_at, finished_at FROM steps WHERE finished_at IS NOT NULL AND (promotion_id || '.' || attempt || '.' || name) > ? ORDER BY k",
    ).all(afterKey) as { k: string; name: string; started_at: string; finished_at: string }[];
  }

  /** Promotions verified and waiting for the next bundle from `from` to `to`, oldest first. */
  waitingForExport(from: string, to: string): PromotionRow[] {
    return (
      rawStatement(
        this.db,
        `SELECT ${COLUMNS} FROM promotions WHERE from_stage = ? AND to_stage = ? AND state = 'exporting' ORDER BY rowid`,
      ).all(from, to) as unknown[][]
    ).map(rowOf);
  }

  /** Promotions a bundle carried across the gap that no receipt has confirmed yet (oldest first). */
  exportedUnconfirmed(from: string, to: string): PromotionRow[] {
    return (
      rawStatement(
        this.db,
        `SELECT ${COLUMNS} FROM promotions WHERE from_stage = ? AND to_stage = ? AND state = 'exported' ORDER BY rowid`,
      ).all(from, to) as unknown[][]
    ).map(rowOf);
  }

  /** A later promotion of the same target on its way or arrived: sending `p` again would take the tag back to an older image. */
  supersededBy(p: PromotionRow): PromotionRow | undefined {
    const r = rawStatement(
      this.db,
      `SELECT ${COLUMNS} FROM promotions WHERE to_stage = ? AND target_ref = ? AND rowid > (SELECT rowid FROM promotions WHERE id = ?) AND state IN ('exporting', 'exported', 'imported') ORDER BY rowid DESC LIMIT 1`,
    ).get(p.to_stage, p.target_ref, p.id) as unknown[] | undefined;
    return r ? rowOf(r) : undefined;
  }

  /** A step that ran elsewhere (the import's, on the high side), recorded finished with its own times. */
  recordStep(id: string, attempt: number, name: string, startedAt: string, finishedAt: string, detail?: unknown): void {
    statement(
      this.db,
      "INSERT OR IGNORE INTO steps (promotion_id, attempt, name, state, started_at, finished_at, detail) VALUES (?, ?, ?, 'done', ?, ?, ?)",
    ).run(id, attempt, name, startedAt, finishedAt, detail === undefined ? null : JSON.stringify(detail));
  }

  list(f: ListFilter): PromotionRow[] {
    const where: string[] = [];
    const args: Record<string, unknown> = { limit: f.limit };
    if (f.state) {
      where.push('state = @state');
      args.state = f.state;
    }
    if (f.stage) {
      where.push('(from_stage = @stage OR to_stage = @stage)');
      args.stage = f.stage;
    }
    if (f.requester) {
      where.push('requester = @requester');
      args.requester = f.requester;
    }
    if (f.image) {
      where.push(
        "(source_ref LIKE @image ESCAPE '\\' OR target_ref LIKE @image ESCAPE '\\' OR image LIKE @image ESCAPE '\\' OR digest = @imageExact OR target_digest = @imageExact)",
      );
      args.image = `%${likeEscape(f.image)}%`;
      args.imageExact = f.image;
    }
    if (f.before !== undefined) {
      where.push('rowid < @before');
      args.before = f.before;
    }
    return (
      rawStatement(
        this.db,
        `SELECT ${COLUMNS} FROM promotions ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY rowid DESC LIMIT @limit`,
      ).all(args) as unknown[][]
    ).map(rowOf);
  }

  inStates(states: readonly string[]): PromotionRow[] {
    return (
      rawStatement(this.db, `SELECT ${COLUMNS} FROM promotions WHERE state IN (${states.map(() => '?').join(',')}) ORDER BY rowid`).all(
        ...states,
      ) as unknown[][]
    ).map(rowOf);
  }
}
