import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ValidationPipe } from '@nestjs/common';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { LoadedConfig, loadConfig } from '@airlock/common/config';
import { processLogger } from '@airlock/common';
import { ApiModule } from './app.module';
import { ApiRuntime, RuntimeOptions, buildRuntime } from './api-runtime';
import { securityHeaders } from './http/security-headers';
import { mountQueueDashboard } from './admin/queue-dashboard';
import { NestPinoLogger } from './http/nest-logger';
import type { Logger } from 'pino';
import { httpMetrics } from './metrics/http-metrics';
import { METRICS } from './metrics/metrics.token';
import type { Registry } from 'prom-client';
import { logRequests } from './http/request-log';
import { bodyParsers } from './http/body-parsers';
import { sharedAnswers } from './http/shared-answers';
import { readsFirst } from './http/reads-first';
import { durableAnswers } from './http/durable-answers';
import { newRequestId } from './errors/domain-exception.filter';
import { describeApi } from './openapi/describe-api';

/** The API: the Nest application and the runtime it serves; close() stops both. */
export interface AirlockApi {
  app: NestFastifyApplication;
  runtime: ApiRuntime;
  listen(port: number, host: string): Promise<void>;
  close(): Promise<void>;
}

/** Builds the API application for a loaded configuration (not yet listening). */
export async function createApi(
  loaded: LoadedConfig,
  opts: { logger?: false | Logger; runtime?: RuntimeOptions } = {},
): Promise<AirlockApi> {
  const runtime = await buildRuntime(loaded, opts.runtime);
  // to standard error (readable lines on a terminal, JSON elsewhere), so what a command prints for people stays readable
  const logger = opts.logger === false ? undefined : (opts.logger ?? processLogger());
  const adapter = new FastifyAdapter({
    // JSON bodies up to 64 KiB (the upload route streams its body past the parsers: http/body-parsers.ts)
    bodyLimit: 64 * 1024,
    genReqId: newRequestId,
    // request lines come from logRequests, off the root logger; Fastify's own (a child logger per request) stays off
    logger: false,
    // on close, idle keep-alive connections go at once; a request in flight gets its answer
    forceCloseConnections: 'idle',
  });
  const app = await NestFactory.create<NestFastifyApplication>(ApiModule.forRuntime(runtime), adapter, {
    // Nest's messages (errors and warnings) through the root logger; the request lines come from logRequests
    logger: logger ? new NestPinoLogger(logger) : false,
    // JSON only, through Fastify's own parser: Nest would add a form parser too
    bodyParser: false,
  });
  const fastify = app.getHttpAdapter().getInstance();
  securityHeaders(fastify);
  if (logger) logRequests(fastify, logger);
  httpMetrics(fastify, app.get<Registry>(METRICS));
  bodyParsers(fastify);
  durableAnswers(fastify, runtime.commits);
  sharedAnswers(fastify);
  readsFirst(fastify);
  await mountQueueDashboard(app, runtime);
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true, stopAtFirstError: true }));
  const doc = describeApi(
    SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('airlock')
        .setDescription(
          'Air-gap promotion pipeline orchestrator. Bodies are JSON (content-type: application/json, up to 64 KiB; anything else is 415 UNSUPPORTED_MEDIA_TYPE), except the bundle upload. Every refusal is {"error":{"code","message","requestId"}}.',
        )
        .setVersion('0.1.0')
        .addBearerAuth()
        .build(),
    ),
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
