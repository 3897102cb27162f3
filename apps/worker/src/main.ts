import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { LoadedConfig, loadConfig } from '@airlock/common/config';
import { StageCatalog } from '@airlock/promotion';
import { workerConnection } from '@airlock/promotion/bullmq';
import { WorkerModule } from './worker.module';

/** Starts a worker process context for a loaded configuration. */
export async function createWorker(loaded: LoadedConfig, opts: { logger?: false; concurrency?: number } = {}): Promise<INestApplicationContext> {
  const catalog = await StageCatalog.create(loaded);
  const connection = workerConnection(loaded.config.redis);
  connection.on('error', () => undefined);
  const app = await NestFactory.createApplicationContext(WorkerModule.forCatalog(catalog, { connection, concurrency: opts.concurrency ?? loaded.config.worker.concurrency, lockMs: loaded.config.worker.lockSeconds * 1000 }), { logger: opts.logger ?? ['error', 'warn'] });
  app.enableShutdownHooks();
  return app;
}

/** Runs a worker until it is told to stop. */
export async function serveWorker(configPath = process.env.AIRLOCK_CONFIG ?? './airlock.yaml'): Promise<INestApplicationContext> {
  return createWorker(loadConfig(configPath));
}
