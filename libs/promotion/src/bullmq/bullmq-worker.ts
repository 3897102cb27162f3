import { Job, UnrecoverableError, Worker } from 'bullmq';
import IORedis from 'ioredis';
import { isAirlockError } from '@airlock/common';
import { CopyEngine, Registries, isTransientNetworkError } from '@airlock/oci';
import { StageCatalog } from '../stage-catalog';
import { ExportWritten, JOBS, JOB_SCHEMAS, JobName, PromoteResult, QUEUES, StepProgress } from '../queues';
import { runPromotion, isPermanent } from '../promote-run';
import { writeExport } from '../export-write';
import { encodeFailure } from '../promotion-queue';

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
      try {
        return await runPromotion(parsed.data, {
          catalog: o.catalog,
          registries,
          engine,
          report: (p: StepProgress) => job.updateProgress(p),
        });
      } catch (e) {
        // a connection dropped outside the registry client's retries (reading a body) is the registry's, not ours
        const code = isAirlockError(e) ? e.code : isTransientNetworkError(e) ? 'REGISTRY_UNAVAILABLE' : 'INTERNAL';
        const msg = encodeFailure(code, (e as Error).message ?? String(e));
        if (isPermanent(e)) throw new UnrecoverableError(msg);
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
