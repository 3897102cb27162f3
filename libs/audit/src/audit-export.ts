import { Db } from './database';
import { AuditEvent, rowToEvent } from './audit-log';
import { AuditFilter, whereOf } from './audit-query';

export const CSV_COLUMNS = ['seq', 'time', 'actor', 'role', 'action', 'promotionId', 'stage', 'image', 'digest', 'requestId', 'details', 'prevHash', 'hash'] as const;

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

/**
 * Streams events matching a filter in seq order, in batches, yielding to the
 * event loop between batches: any size, bounded memory.
 */
export async function* exportEvents(db: Db, f: AuditFilter, format: 'jsonl' | 'csv', batch = 2000): AsyncGenerator<string> {
  if (format === 'csv') yield CSV_COLUMNS.join(',') + '\n';
  const { sql, args } = whereOf(f);
  const stmt = db.prepare(`SELECT * FROM audit_events WHERE ${sql} AND seq > @after ORDER BY seq LIMIT @batch`);
  let after = 0;
  for (;;) {
    const rows = stmt.all({ ...args, after, batch }) as { seq: number }[];
    if (!rows.length) return;
    let chunk = '';
    for (const r of rows) chunk += formatEvent(rowToEvent(r as never), format);
    after = rows[rows.length - 1].seq;
    yield chunk;
    await new Promise((r) => setImmediate(r));
  }
}
