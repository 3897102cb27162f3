import { ExportJob, ExportWritten, PromoteJob, PromoteResult } from './queues';

/** What the queue knows about a job. */
export type JobStatus<R = PromoteResult> =
  | { state: 'missing' }
  | { state: 'pending' | 'active' }
  | { state: 'completed'; result: R }
  | { state: 'failed'; code: string; message: string };

/** The execution engine as the domain sees it (BullMQ behind it in the apps). */
export interface PromotionQueue {
  /** Adds the job unless one with the same promotion and attempt exists. */
  enqueue(job: PromoteJob): Promise<void>;
  /** Removes a job that has not started; false when it is running. */
  remove(promotionId: string, attempt: number): Promise<boolean>;
  status(promotionId: string, attempt: number): Promise<JobStatus>;
  /**
   * Of these jobs, the promotion ids whose job is not waiting or running:
   * missing, completed or failed (what the reconciler must look at). A few
   * round trips for thousands of jobs, not one per job.
   */
  unsettled(jobs: readonly { promotionId: string; attempt: number }[]): Promise<string[]>;
  /** Adds an export job unless one with its id exists. */
  enqueueExport(job: ExportJob): Promise<void>;
  exportStatus(jobId: string): Promise<JobStatus<ExportWritten>>;
}

/** The queue's id of an export job. */
export const exportJobIdOf = (jobId: string): string => `export.${jobId}`;

/** The export job id in a queue job id, or undefined for another job. */
export function parseExportJobId(queueJobId: string): string | undefined {
  return /^export\.([0-9a-f-]{36})$/.exec(queueJobId)?.[1];
}

/** The job id: the promotion id (and the attempt, so a retry is a new job). */
export function jobIdOf(promotionId: string, attempt: number): string {
  return `${promotionId}.${attempt}`;
}

/** Splits a job id back into promotion id and attempt. */
export function parseJobId(jobId: string): { promotionId: string; attempt: number } | undefined {
  const m = /^([0-9a-f-]{36})\.(\d+)$/.exec(jobId);
  return m ? { promotionId: m[1], attempt: Number(m[2]) } : undefined;
}

/** Encodes a failure as `CODE: message` for BullMQ's failedReason, and back. */
export function encodeFailure(code: string, message: string): string {
  return `${code}: ${message}`;
}
export function decodeFailure(reason: string | undefined): { code: string; message: string } {
  const m = /^([A-Z][A-Z0-9_]+): ([\s\S]*)$/.exec(reason ?? '');
  return m ? { code: m[1], message: m[2] } : { code: 'INTERNAL', message: reason || 'job failed' };
}
