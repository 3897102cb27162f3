import { Db, statement } from '@airlock/database';
import type { ExportJob } from './queues';

export type BundleJobState = 'queued' | 'running' | 'completed' | 'failed';

export interface BundleJobRow {
  id: string;
  kind: 'export';
  channel: string;
  sequence: number;
  bundle_id: string;
  state: BundleJobState;
  runner: string;
  requested_by: string;
  request_id: string | null;
  plan: string;
  bytes_done: number;
  bytes_total: number;
  result: string | null;
  error_code: string | null;
  error_message: string | null;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
}

/** SQL for bundle jobs (exports): claim, progress, outcome. All values are bound parameters. */
export class BundleJobStore {
  constructor(readonly db: Db) {}

  get(id: string): BundleJobRow | undefined {
    return statement(this.db, 'SELECT * FROM bundle_jobs WHERE id = ?').get(id) as BundleJobRow | undefined;
  }

  /** The channel's export that is queued or running, if any. */
  active(channel: string): BundleJobRow | undefined {
    return statement(this.db, "SELECT * FROM bundle_jobs WHERE channel = ? AND kind = 'export' AND state IN ('queued', 'running')").get(channel) as BundleJobRow | undefined;
  }

  /** Every queued or running export (the reconciler looks after those the queue runs). */
  allActive(): BundleJobRow[] {
    return statement(this.db, "SELECT * FROM bundle_jobs WHERE state IN ('queued', 'running') ORDER BY created_at").all() as BundleJobRow[];
  }

  insert(plan: ExportJob, o: { runner: string; requestedBy: string; requestId?: string }): void {
    const now = new Date().toISOString();
    statement(this.db, "INSERT INTO bundle_jobs (id, kind, channel, sequence, bundle_id, state, runner, requested_by, request_id, plan, created_at, updated_at) VALUES (?, 'export', ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?)").run(
      plan.jobId,
      plan.channel,
      plan.sequence,
      plan.bundleId,
      o.runner,
      o.requestedBy,
      o.requestId ?? null,
      JSON.stringify(plan),
      now,
      now,
    );
  }

  /** Bytes written so far; a queued job becomes running. */
  progress(id: string, bytesDone: number, bytesTotal: number): void {
    statement(this.db, "UPDATE bundle_jobs SET bytes_done = ?, bytes_total = ?, state = CASE WHEN state = 'queued' THEN 'running' ELSE state END, updated_at = ? WHERE id = ? AND state IN ('queued', 'running')").run(bytesDone, bytesTotal, new Date().toISOString(), id);
  }

  /** Ends an active job; false when it had ended already (a report delivered twice). */
  finish(id: string, outcome: { state: 'completed'; result: unknown; bytes: number } | { state: 'failed'; code: string; message: string }): boolean {
    const now = new Date().toISOString();
    const r =
      outcome.state === 'completed'
        ? statement(this.db, "UPDATE bundle_jobs SET state = 'completed', result = ?, bytes_done = ?, bytes_total = ?, updated_at = ?, finished_at = ? WHERE id = ? AND state IN ('queued', 'running')").run(JSON.stringify(outcome.result), outcome.bytes, outcome.bytes, now, now, id)
        : statement(this.db, "UPDATE bundle_jobs SET state = 'failed', error_code = ?, error_message = ?, updated_at = ?, finished_at = ? WHERE id = ? AND state IN ('queued', 'running')").run(outcome.code, outcome.message.slice(0, 2000), now, now, id);
    return r.changes === 1;
  }
}
