import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { LoadedConfig, loadConfig } from '@airlock/common';
import { StageCatalog } from '@airlock/promotion';
import { ApiModule } from './app.module';

/** Builds the API application for a loaded configuration (not yet listening). */
export async function createApi(loaded: LoadedConfig, opts: { logger?: false } = {}): Promise<NestExpressApplication> {
  const catalog = await StageCatalog.create(loaded);
  const app = await NestFactory.create<NestExpressApplication>(ApiModule.forCatalog(catalog), { logger: opts.logger ?? ['error', 'warn'] });
  app.disable('x-powered-by');
  app.enableShutdownHooks();
  return app;
}

/** Starts the API on the configured address. */
export async function serveApi(configPath = process.env.AIRLOCK_CONFIG ?? './airlock.yaml'): Promise<NestExpressApplication> {
  const loaded = loadConfig(configPath);
  const app = await createApi(loaded);
  await app.listen(loaded.config.server.port, loaded.config.server.host);
  return app;
}

if (require.main === module) {
  serveApi().catch((e) => {
    process.stderr.write(`airlock api: ${(e as { code?: string }).code ?? 'INTERNAL'}: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
