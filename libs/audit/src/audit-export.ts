import { Db } from '@airlock/database';
import { AuditEvent, AuditRow, rowToEvent } from './audit-log';
import { AuditFilter, whereOf } from './audit-query';

export const CSV_COLUMNS = [
  'seq',
  'time',
  'actor',
  'role',
  'action',
  'promotionId',
  'stage',
  'image',
  'digest',
  'requestId',
  'details',
  'prevHash',
  'hash',
] as const;

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v);
  // a leading = + - @ would be a formula in a spreadsheet: neutralize it
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** One exported line: a JSON object per event (everything needed to re-check the chain), or a CSV row. */
export function formatEvent(e: AuditEvent, format: 'jsonl' | 'csv'): string {
  if (format === 'jsonl') return JSON.stringify(e) + '\n';
  return CSV_COLUMNS.map((c) => csvCell(e[c])).join(',') + '\n';
}

/** A JSON line built from the stored row without re-parsing its details (same fields as the event). */
function jsonLine(r: AuditRow): string {
  const j = JSON.stringify;
  return `{"seq":${r.seq},"time":${j(r.ts)},"actor":${j(r.actor)},"role":${j(r.role)},"action":${j(r.action)},"promotionId":${j(r.promotion_id)},"stage":${j(r.stage)},"image":${j(r.image)},"digest":${j(r.digest)},"requestId":${j(r.request_id)},"details":${r.details},"prevHash":${j(r.prev_hash)},"hash":${j(r.hash)}}\n`;
}

/**
 * Streams events matching a filter in seq order, in batches, yielding to the
 * event loop between batches: any size, bounded memory.
 */
export async function* exportEvents(db: Db, f: AuditFilter, format: 'jsonl' | 'csv', batch = 2000): AsyncGenerator<string> {
  if (format === 'csv') yield CSV_COLUMNS.join(',') + '\n';
  const { sql, args } = whereOf(f);
  const stmt = db
    .prepare(
      `SELECT seq, ts, actor, role, action, promotion_id, stage, image, digest, request_id, details, prev_hash, hash FROM audit_events WHERE ${sql} AND seq > @after ORDER BY seq LIMIT @batch`,
    )
    .raw(true);
  let after = 0;
  for (;;) {
    const rows = stmt.all({ ...args, after, batch }) as unknown[][];
    if (!rows.length) return;
    let chunk = '';
    for (const a of rows) {
      const r = {
        seq: a[0],
        ts: a[1],
        actor: a[2],
        role: a[3],
        action: a[4],
        promotion_id: a[5],
        stage: a[6],
        image: a[7],
        digest: a[8],
        request_id: a[9],
        details: a[10],
        prev_hash: a[11],
        hash: a[12],
      } as AuditRow;
      chunk += format === 'jsonl' ? jsonLine(r) : formatEvent(rowToEvent(r), format);
    }
    after = rows[rows.length - 1][0] as number;
    yield chunk;
    await new Promise((r) => setImmediate(r));
  }
}
