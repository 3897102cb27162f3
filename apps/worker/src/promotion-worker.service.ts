import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { Worker } from 'bullmq';
import type IORedis from 'ioredis';
import { withTimeout } from '@airlock/common';
import { StageCatalog } from '@airlock/promotion/run';
import { startWorker } from '@airlock/promotion/bullmq';
import type { WorkerLog } from '@airlock/promotion/bullmq';

export const WORKER_OPTIONS = Symbol('WORKER_OPTIONS');
export interface WorkerOptions {
  connection: IORedis;
  /** Prefix of the queue's keys (redis.prefix). */
  prefix: string;
  concurrency: number;
  /** How long a job stays locked to a worker that stopped answering. */
  lockMs?: number;
  /** Where each run's end is logged (none when the command is quiet). */
  log?: WorkerLog;
}

/** Runs the BullMQ processors for as long as the application context lives. */
@Injectable()
export class PromotionWorkerService implements OnModuleInit, OnApplicationShutdown {
  private worker?: Worker;
  private readonly log = new Logger('worker');

  constructor(
    private readonly catalog: StageCatalog,
    @Inject(WORKER_OPTIONS) private readonly opts: WorkerOptions,
  ) {}

  onModuleInit(): void {
    this.worker = startWorker({
      connection: this.opts.connection,
      prefix: this.opts.prefix,
      catalog: this.catalog,
      concurrency: this.opts.concurrency,
      lockMs: this.opts.lockMs,
      onError: (e) => this.log.warn(e.message),
      log: this.opts.log,
    });
  }

  async onApplicationShutdown(): Promise<void> {
    // With Redis gone, a graceful Worker.close waits forever for the running jobs (they cannot report) before it stops its
    // lock-renewal timer, which then keeps the process alive: close by force (the jobs come back as stalled once Redis does).
    // Bounded either way (a stopped sandbox hung on SIGTERM); then its connections go.
    const redisGone = this.opts.connection.status !== 'ready';
    await withTimeout(this.worker?.close(redisGone) ?? Promise.resolve(), 5000).catch(
      () => void this.worker?.disconnect().catch(() => undefined),
    );
    this.opts.connection.disconnect();
  }
}
