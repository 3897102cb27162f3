import { Job, UnrecoverableError, Worker } from 'bullmq';
import IORedis from 'ioredis';
import { isAirlockError } from '@airlock/common';
import { CopyEngine, Registries, isTransientNetworkError } from '@airlock/oci';
import { StageCatalog } from '../stage-catalog';
import { ExportWritten, JOBS, JOB_SCHEMAS, JobName, PromoteResult, QUEUES, StepProgress } from '../queues';
import { runPromotion, isPermanent } from '../promote-run';
import { writeExport } from '../export-write';
import { encodeFailure } from '../promotion-queue';

/** Where the worker says how each run ended (pino's shape; a Nest-free interface). */
export interface WorkerLog {
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
}

/** Times each step of a run from its progress reports: `{ verify: 0.12, copy: 1.4, ... }` in seconds. */
function stepClock(): { report(p: StepProgress): void; finish(): void; seconds(): Record<string, number> } {
  const started = new Map<string, number>();
  const took: Record<string, number> = {};
  const end = (step: string) => {
    const t = started.get(step);
    if (t !== undefined && took[step] === undefined) took[step] = Math.round((performance.now() - t) / 10) / 100;
  };
  return {
    report(p) {
      if (p.finished) end(p.finished.step);
      if (p.status === 'started' && !started.has(p.step)) started.set(p.step, performance.now());
      if (p.status === 'done') end(p.step);
    },
    // the last step's end is the run's own (no report says it)
    finish: () => started.forEach((_t, step) => end(step)),
    seconds: () => took,
  };
}

/** Handlers by job name; a job name with no handler, or two, stops the boot. */
type Handlers = { [N in JobName]: (job: Job) => Promise<unknown> };

function checkHandlers(h: Partial<Handlers>): Handlers {
  for (const name of Object.values(JOBS)) if (typeof h[name] !== 'function') throw new Error(`no handler for job ${name}`);
  for (const name of Object.keys(h))
    if (!(Object.values(JOBS) as string[]).includes(name)) throw new Error(`handler for unknown job ${name}`);
  return h as Handlers;
}

/**
 * The BullMQ worker: takes jobs off the promotions queue, validates their data
 * (queue payloads pass no HTTP validation), runs them, and reports progress
 * and results through BullMQ. It never opens the database.
 */
export function startWorker(o: {
  connection: IORedis;
  prefix?: string;
  catalog: StageCatalog;
  concurrency: number;
  lockMs?: number;
  registries?: Registries;
  onError?: (e: Error) => void;
  log?: WorkerLog;
}): Worker {
  const registries = o.registries ?? new Registries(o.catalog.registryOptions());
  const engine = new CopyEngine(registries, { concurrency: 4 });
  const handlers = checkHandlers({
    [JOBS.promote]: async (job: Job): Promise<PromoteResult> => {
      const parsed = JOB_SCHEMAS.promote.safeParse(job.data);
      if (!parsed.success)
        throw new UnrecoverableError(
          encodeFailure(
            'INVALID_ARGUMENT',
            `job data is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
          ),
        );
      const d = parsed.data;
      const t0 = performance.now();
      const clock = stepClock();
      const about = () => ({ promotionId: d.promotionId, attempt: d.attempt, target: d.target, steps: clock.seconds() });
      try {
        const r = await runPromotion(d, {
          catalog: o.catalog,
          registries,
          engine,
          report: (p: StepProgress) => {
            clock.report(p);
            return job.updateProgress(p);
          },
        });
        clock.finish();
        const secs = ((performance.now() - t0) / 1000).toFixed(2);
        o.log?.info(
          { ...about(), bytes: r.bytesMoved, seconds: Number(secs) },
          r.awaitingExport
            ? `promotion ${d.promotionId} verified in ${secs} s; waiting for the next bundle to ${d.toStage}`
            : `promotion ${d.promotionId} done in ${secs} s: ${d.fromStage} -> ${d.toStage} ${r.target}`,
        );
        return r;
      } catch (e) {
        // a connection dropped outside the registry client's retries (reading a body) is the registry's, not ours
        const code = isAirlockError(e) ? e.code : isTransientNetworkError(e) ? 'REGISTRY_UNAVAILABLE' : 'INTERNAL';
        // an unforeseen error says what kind it was (its class and system code), so a rare one can be traced from its record
        const kind =
          code === 'INTERNAL'
            ? `${(e as Error).name ?? 'Error'}${typeof (e as { code?: unknown }).code === 'string' ? ` ${(e as { code: string }).code}` : ''}: `
            : '';
        const message = kind + ((e as Error).message ?? String(e));
        const msg = encodeFailure(code, message);
        const permanent = isPermanent(e);
        o.log?.warn(
          { ...about(), code, retried: !permanent },
          `promotion ${d.promotionId} failed (${code}${permanent ? '' : ', retried while attempts remain'}): ${message.split('\n')[0].slice(0, 300)}`,
        );
        if (permanent) throw new UnrecoverableError(msg);
        throw new Error(msg, { cause: e });
      }
    },
    [JOBS.export]: async (job: Job): Promise<ExportWritten> => {
      const parsed = JOB_SCHEMAS.export.safeParse(job.data);
      if (!parsed.success)
        throw new UnrecoverableError(
          encodeFailure(
            'INVALID_ARGUMENT',
            `job data is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
          ),
        );
      try {
        return await writeExport(parsed.data, {
          catalog: o.catalog,
          registries,
          onProgress: (p) => void job.updateProgress(p as unknown as object).catch(() => undefined),
        });
      } catch (e) {
        throw new UnrecoverableError(encodeFailure(isAirlockError(e) ? e.code : 'INTERNAL', (e as Error).message ?? String(e)));
      }
    },
  });
  const worker = new Worker(
    QUEUES.promotions,
    async (job) => {
      const h = handlers[job.name as JobName];
      if (!h) throw new UnrecoverableError(encodeFailure('INVALID_ARGUMENT', `unknown job name ${job.name}`));
      return h(job);
    },
    // a worker that dies (kill -9, power cut) holds its job until the lock expires; then another worker takes it
    {
      connection: o.connection,
      prefix: o.prefix ?? 'airlock',
      concurrency: o.concurrency,
      lockDuration: o.lockMs ?? 30_000,
      stalledInterval: Math.max(1000, Math.floor((o.lockMs ?? 30_000) / 2)),
      maxStalledCount: 5,
    },
  );
  worker.on('error', (e) => o.onError?.(e));
  worker.on('closed', () => void registries.close());
  return worker;
}
