import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ValidationPipe } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { LoadedConfig, loadConfig } from '@airlock/common/config';
import { ApiModule } from './app.module';
import { ApiRuntime, RuntimeOptions, buildRuntime } from './api-runtime';
import { securityHeaders } from './http/security-headers';
import { mountQueueDashboard } from './admin/queue-dashboard';
import { Logger as PinoLogger } from 'nestjs-pino';
import pino from 'pino';
import { httpMetrics } from './metrics/http-metrics';
import { METRICS } from './metrics/metrics.token';
import type { Registry } from 'prom-client';
import { requestLog } from './http/request-log';

/** The API: the Nest application and the runtime it serves; close() stops both. */
export interface AirlockApi {
  app: NestExpressApplication;
  runtime: ApiRuntime;
  listen(port: number, host: string): Promise<void>;
  close(): Promise<void>;
}

/** Builds the API application for a loaded configuration (not yet listening). */
export async function createApi(loaded: LoadedConfig, opts: { logger?: false; runtime?: RuntimeOptions } = {}): Promise<AirlockApi> {
  const runtime = await buildRuntime(loaded, opts.runtime);
  const logs = opts.logger !== false;
  // structured JSON logs to standard error, so what a command prints for people stays readable
  const logger = logs ? pino({}, pino.destination({ dest: 2, sync: false })) : undefined;
  const app = await NestFactory.create<NestExpressApplication>(ApiModule.forRuntime(runtime, { logger }), {
    logger: logs ? ['error', 'warn'] : false,
    bufferLogs: logs,
  });
  if (logs) app.useLogger(app.get(PinoLogger));
  app.disable('x-powered-by');
  app.use(requestLog(logger));
  app.use(httpMetrics(app.get<Registry>(METRICS)));
  app.use(securityHeaders);
  mountQueueDashboard(app, runtime);
  app.useBodyParser('json', { limit: '64kb' });
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true, stopAtFirstError: true }));
  const doc = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('airlock')
      .setDescription('Air-gap promotion pipeline orchestrator')
      .setVersion('0.1.0')
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('docs', app, doc, { jsonDocumentUrl: 'docs/openapi.json' });
  return {
    app,
    runtime,
    async listen(port, host) {
      await app.listen(port, host);
    },
    async close() {
      await app.close();
      await runtime.close();
    },
  };
}

/** Starts the API on the configured address. */
export async function serveApi(configPath = process.env.AIRLOCK_CONFIG ?? './airlock.yaml'): Promise<AirlockApi> {
  const loaded = loadConfig(configPath);
  const app = await createApi(loaded);
  await app.listen(loaded.config.server.port, loaded.config.server.host);
  return app;
}
