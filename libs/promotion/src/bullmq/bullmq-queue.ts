import { Job, Queue, QueueEvents } from 'bullmq';
import IORedis from 'ioredis';
import { JobStatus, PromotionQueue, decodeFailure, exportJobIdOf, jobIdOf, parseExportJobId, parseJobId } from '../promotion-queue';
import { ExportJob, ExportProgress, ExportWritten, JOBS, PromoteJob, PromoteResult, QUEUES, StepProgress } from '../queues';

/** Retry policy of promote jobs: transient faults back off exponentially; policy refusals fail at once. */
export interface JobRetryOptions {
  attempts: number;
  backoffMs: number;
}
export const DEFAULT_JOB_RETRY: JobRetryOptions = { attempts: 4, backoffMs: 2000 };

/** A Redis connection for producers: fails fast when Redis is away (the reconciler catches up). */
export function producerConnection(url: string): IORedis {
  return new IORedis(url, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    lazyConnect: false,
    retryStrategy: (n) => Math.min(n * 200, 2000),
  });
}

/** A Redis connection for workers and event listeners (blocking commands, retried forever). */
export function workerConnection(url: string): IORedis {
  return new IORedis(url, { maxRetriesPerRequest: null, retryStrategy: (n) => Math.min(n * 200, 2000) });
}

/** Job ids asked about in one script call: a few hundred keeps each call well under a millisecond of Redis's time. */
const UNSETTLED_BATCH = 500;

/**
 * KEYS: the queue's completed and failed sets; ARGV[1]: the prefix of a job's
 * hash (BullMQ keeps a job at prefix + id while it exists); ARGV[2..]: job ids.
 * Returns the ids that are finished or have no hash (never added, or wiped).
 */
const UNSETTLED = `local out = {}
for i = 2, #ARGV do
  local id = ARGV[i]
  if redis.call('ZSCORE', KEYS[1], id) or redis.call('ZSCORE', KEYS[2], id) or redis.call('EXISTS', ARGV[1] .. id) == 0 then
    out[#out + 1] = id
  end
end
return out`;

/** PromotionQueue on BullMQ: the job id is the promotion id and attempt, so a double click enqueues once. */
export class BullPromotionQueue implements PromotionQueue {
  readonly queue: Queue;

  constructor(
    readonly connection: IORedis,
    private readonly retry: JobRetryOptions = DEFAULT_JOB_RETRY,
    /** Prefix of every key of the queue (redis.prefix): deployments sharing one Redis stay apart. */
    prefix = 'airlock',
  ) {
    this.queue = new Queue(QUEUES.promotions, { connection, prefix });
    // a lost connection is reported by readiness and by each call that needs Redis; unheard, BullMQ prints the error as a stack on stderr
    this.queue.on('error', () => undefined);
  }

  async enqueue(job: PromoteJob): Promise<void> {
    await this.queue.add(JOBS.promote, job, {
      jobId: jobIdOf(job.promotionId, job.attempt),
      attempts: this.retry.attempts,
      backoff: { type: 'exponential', delay: this.retry.backoffMs },
      removeOnComplete: { age: 7 * 86400 },
      removeOnFail: { age: 30 * 86400 },
    });
  }

  async enqueueExport(job: ExportJob): Promise<void> {
    // one attempt: a failed export frees its channel, and the operator starts another
    await this.queue.add(JOBS.export, job, {
      jobId: exportJobIdOf(job.jobId),
      attempts: 1,
      removeOnComplete: { age: 7 * 86400 },
      removeOnFail: { age: 30 * 86400 },
    });
  }

  async exportStatus(jobId: string): Promise<JobStatus<ExportWritten>> {
    return this.statusOf<ExportWritten>(exportJobIdOf(jobId));
  }

  async remove(promotionId: string, attempt: number): Promise<boolean> {
    const job = await Job.fromId(this.queue, jobIdOf(promotionId, attempt));
    if (!job) return true;
    const state = await job.getState();
    if (state === 'active') return false;
    try {
      await job.remove();
      return true;
    } catch {
      return false;
    }
  }

  async status(promotionId: string, attempt: number): Promise<JobStatus> {
    return this.statusOf<PromoteResult>(jobIdOf(promotionId, attempt));
  }

  async unsettled(jobs: readonly { promotionId: string; attempt: number }[]): Promise<string[]> {
    const found: string[] = [];
    for (let i = 0; i < jobs.length; i += UNSETTLED_BATCH) {
      const ids = jobs.slice(i, i + UNSETTLED_BATCH).map((j) => jobIdOf(j.promotionId, j.attempt));
      const out = (await this.connection.eval(
        UNSETTLED,
        2,
        this.queue.toKey('completed'),
        this.queue.toKey('failed'),
        this.queue.toKey(''),
        ...ids,
      )) as string[] | null;
      for (const id of out ?? []) {
        const parsed = parseJobId(id);
        if (parsed) found.push(parsed.promotionId);
      }
    }
    return found;
  }

  private async statusOf<R>(id: string): Promise<JobStatus<R>> {
    // the state first, then the job: read the other way round, a job that ended in between was seen failed with the
    // reason it did not have yet when it was read, and recorded as INTERNAL "job failed" instead of its own code
    const state = await this.queue.getJobState(id);
    if (state === 'unknown') return { state: 'missing' };
    if (state === 'active') return { state: 'active' };
    if (state !== 'completed' && state !== 'failed') return { state: 'pending' };
    const job = await Job.fromId(this.queue, id);
    if (!job) return { state: 'missing' };
    if (state === 'completed') return { state: 'completed', result: job.returnvalue as R };
    return { state: 'failed', ...decodeFailure(job.failedReason) };
  }

  /** Jobs waiting, running, delayed and failed, for metrics and health. */
  async counts(): Promise<Record<string, number>> {
    return this.queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}

/** Handlers for what workers report. */
export interface QueueListener {
  progress(promotionId: string, attempt: number, p: StepProgress): void;
  completed(promotionId: string, attempt: number, r: PromoteResult): void;
  failed(promotionId: string, attempt: number, code: string, message: string): void;
  exportProgress(jobId: string, p: ExportProgress): void;
  exportCompleted(jobId: string, written: ExportWritten): void;
  exportFailed(jobId: string, code: string, message: string): void;
}

/**
 * Runs an event's handling without letting its failure become an unhandled
 * rejection (which ends the process): an event whose job could not be read
 * (Redis away) is left to the reconciler, which finds what the database
 * still calls running (api-runtime.ts).
 */
function background(f: () => Promise<unknown>): void {
  f().catch(() => undefined);
}

/**
 * Listens to BullMQ's queue events and hands them to the API's recorder.
 * A failure is recorded only once the job has no attempts left.
 */
export async function listenToQueue(connection: IORedis, queue: Queue, l: QueueListener): Promise<QueueEvents> {
  const events = new QueueEvents(QUEUES.promotions, { connection, prefix: queue.opts.prefix });
  events.on('error', () => undefined); // as the queue's: readiness says when Redis is away
  events.on('progress', ({ jobId, data }) => {
    const ex = parseExportJobId(jobId);
    if (ex && data && typeof data === 'object') return l.exportProgress(ex, data as unknown as ExportProgress);
    const id = parseJobId(jobId);
    if (id && data && typeof data === 'object') l.progress(id.promotionId, id.attempt, data as unknown as StepProgress);
  });
  events.on('completed', ({ jobId }) =>
    background(async () => {
      const ex = parseExportJobId(jobId);
      if (ex) {
        const job = await Job.fromId(queue, jobId);
        if (job?.returnvalue) l.exportCompleted(ex, job.returnvalue as ExportWritten);
        return;
      }
      const id = parseJobId(jobId);
      if (!id) return;
      const job = await Job.fromId(queue, jobId);
      if (job?.returnvalue) l.completed(id.promotionId, id.attempt, job.returnvalue as PromoteResult);
    }),
  );
  events.on('failed', ({ jobId, failedReason }) =>
    background(async () => {
      const ex = parseExportJobId(jobId);
      if (ex) {
        const f = decodeFailure(failedReason);
        return l.exportFailed(ex, f.code, f.message);
      }
      const id = parseJobId(jobId);
      if (!id) return;
      const job = await Job.fromId(queue, jobId);
      if (job && (await job.getState()) !== 'failed') return; // it will be retried
      const f = decodeFailure(job?.failedReason ?? failedReason);
      l.failed(id.promotionId, id.attempt, f.code, f.message);
    }),
  );
  await events.waitUntilReady();
  return events;
}
