import { hostname } from 'node:os';
import { AirlockError, processAlive } from '@airlock/common';
import { Db, statement } from '@airlock/database';
import type { ExportJob } from './queues';

export type BundleJobState = 'queued' | 'running' | 'completed' | 'failed';

export interface BundleJobRow {
  id: string;
  kind: 'export' | 'import';
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

/** The runner of a job this process runs itself: host and pid. */
export const localRunner = (): string => `${hostname()}:${process.pid}`;

/** A job a process on this host ran, and that process is gone (the queue's jobs are the reconciler's). */
export function abandoned(j: BundleJobRow): boolean {
  const [host, pid] = j.runner.split(':');
  return j.runner !== 'queue' && host === hostname() && !processAlive(Number(pid));
}

/** A bundle job as the API shows it. */
export interface BundleJobView {
  id: string;
  kind: BundleJobRow['kind'];
  channel: string;
  sequence: number;
  bundleId: string;
  state: BundleJobState;
  requestedBy: string;
  bytesDone: number;
  bytesTotal: number;
  /** The export's bundle or the import's outcome, once completed. */
  result: unknown;
  error: { code: string; message: string } | null;
  createdAt: string;
  finishedAt: string | null;
}

/** SQL for bundle jobs (exports and imports): claim, progress, outcome. All values are bound parameters. */
export class BundleJobStore {
  constructor(readonly db: Db) {}

  get(id: string): BundleJobRow | undefined {
    return statement(this.db, 'SELECT * FROM bundle_jobs WHERE id = ?').get(id) as BundleJobRow | undefined;
  }

  /** What an export job was planned to carry (undefined for an import or an unknown id). */
  plan(id: string): ExportJob | undefined {
    const j = this.get(id);
    return j?.kind === 'export' ? (JSON.parse(j.plan) as ExportJob) : undefined;
  }

  /** What the export job that wrote a bundle was planned to carry (undefined when no export job wrote it). */
  planOfBundle(bundleId: string): ExportJob | undefined {
    const j = statement(this.db, "SELECT plan FROM bundle_jobs WHERE kind = 'export' AND bundle_id = ? AND state = 'completed'").get(
      bundleId,
    ) as { plan: string } | undefined;
    return j && (JSON.parse(j.plan) as ExportJob);
  }

  /** The channel's export (or import) that is queued or running, if any. */
  active(channel: string, kind: BundleJobRow['kind'] = 'export'): BundleJobRow | undefined {
    return statement(this.db, "SELECT * FROM bundle_jobs WHERE channel = ? AND kind = ? AND state IN ('queued', 'running')").get(
      channel,
      kind,
    ) as BundleJobRow | undefined;
  }

  /** Every queued or running export (the reconciler looks after those the queue runs). */
  allActive(): BundleJobRow[] {
    return statement(this.db, "SELECT * FROM bundle_jobs WHERE state IN ('queued', 'running') ORDER BY created_at").all() as BundleJobRow[];
  }

  insert(plan: ExportJob, o: { runner: string; requestedBy: string; requestId?: string }): void {
    const now = new Date().toISOString();
    statement(
      this.db,
      "INSERT INTO bundle_jobs (id, kind, channel, sequence, bundle_id, state, runner, requested_by, request_id, plan, created_at, updated_at) VALUES (?, 'export', ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?)",
    ).run(
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

  /** An import job: the bundle it names is the volume index's (not yet verified: shown, never trusted). */
  insertImport(o: {
    jobId: string;
    channel: string;
    sequence: number;
    bundleId: string;
    files: string[];
    runner: string;
    requestedBy: string;
    requestId?: string;
  }): void {
    const now = new Date().toISOString();
    statement(
      this.db,
      "INSERT INTO bundle_jobs (id, kind, channel, sequence, bundle_id, state, runner, requested_by, request_id, plan, created_at, updated_at) VALUES (?, 'import', ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?)",
    ).run(
      o.jobId,
      o.channel,
      o.sequence,
      o.bundleId,
      o.runner,
      o.requestedBy,
      o.requestId ?? null,
      JSON.stringify({ files: o.files }),
      now,
      now,
    );
  }

  /** The job as the API shows it; NOT_FOUND when there is none. */
  view(id: string): BundleJobView {
    const j = this.get(id);
    if (!j) throw new AirlockError('NOT_FOUND', 'no bundle job with that id');
    return {
      id: j.id,
      kind: j.kind,
      channel: j.channel,
      sequence: j.sequence,
      bundleId: j.bundle_id,
      state: j.state,
      requestedBy: j.requested_by,
      bytesDone: j.bytes_done,
      bytesTotal: j.bytes_total,
      result: j.result ? JSON.parse(j.result) : null,
      error: j.error_code ? { code: j.error_code, message: j.error_message ?? '' } : null,
      createdAt: j.created_at,
      finishedAt: j.finished_at,
    };
  }

  /** The bundle an import job reads, once its signed index (format 2) says which: the job is recorded before it is opened. */
  identify(id: string, bundleId: string): void {
    statement(this.db, "UPDATE bundle_jobs SET bundle_id = ?, updated_at = ? WHERE id = ? AND bundle_id = ''").run(
      bundleId,
      new Date().toISOString(),
      id,
    );
  }

  /** Bytes written so far; a queued job becomes running. */
  progress(id: string, bytesDone: number, bytesTotal: number): void {
    statement(
      this.db,
      "UPDATE bundle_jobs SET bytes_done = ?, bytes_total = ?, state = CASE WHEN state = 'queued' THEN 'running' ELSE state END, updated_at = ? WHERE id = ? AND state IN ('queued', 'running')",
    ).run(bytesDone, bytesTotal, new Date().toISOString(), id);
  }

  /** Ends an active job; false when it had ended already (a report delivered twice). */
  finish(
    id: string,
    outcome: { state: 'completed'; result: unknown; bytes: number } | { state: 'failed'; code: string; message: string },
  ): boolean {
    const now = new Date().toISOString();
    const r =
      outcome.state === 'completed'
        ? statement(
            this.db,
            "UPDATE bundle_jobs SET state = 'completed', result = ?, bytes_done = ?, bytes_total = ?, updated_at = ?, finished_at = ? WHERE id = ? AND state IN ('queued', 'running')",
          ).run(JSON.stringify(outcome.result), outcome.bytes, outcome.bytes, now, now, id)
        : statement(
            this.db,
            "UPDATE bundle_jobs SET state = 'failed', error_code = ?, error_message = ?, updated_at = ?, finished_at = ? WHERE id = ? AND state IN ('queued', 'running')",
          ).run(outcome.code, outcome.message.slice(0, 2000), now, now, id);
    return r.changes === 1;
  }
}
