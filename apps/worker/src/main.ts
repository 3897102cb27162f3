import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import type { Logger } from 'pino';
import { processLogger } from '@airlock/common';
import { LoadedConfig, redisSettings } from '@airlock/common/config';
import { StageCatalog } from '@airlock/promotion/run';
import { workerConnection } from '@airlock/promotion/bullmq';
import { WorkerModule } from './worker.module';

/** Starts a worker process context for a loaded configuration. */
export async function createWorker(
  loaded: LoadedConfig,
  opts: { logger?: false | Logger; concurrency?: number } = {},
): Promise<INestApplicationContext> {
  const catalog = await StageCatalog.create(loaded);
  const redis = redisSettings(loaded.config);
  const connection = workerConnection(redis.url);
  connection.on('error', () => undefined);
  const app = await NestFactory.createApplicationContext(
    WorkerModule.forCatalog(catalog, {
      connection,
      prefix: redis.prefix,
      concurrency: opts.concurrency ?? loaded.config.worker.concurrency,
      lockMs: loaded.config.worker.lockSeconds * 1000,
      log: opts.logger === false ? undefined : (opts.logger ?? processLogger()),
    }),
    { logger: opts.logger === false ? false : ['error', 'warn'] },
  );
  // no enableShutdownHooks(): the command that started the worker owns the signals and closes it (serve.command.ts). Nest's
  // hooks closed the worker and then killed the process with the signal again, before that command's own close ran:
  // a stopped sandbox left its redis-server and registries running, and `airlock serve` skipped closing the API.
  return app;
}
