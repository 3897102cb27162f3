import type { FastifyInstance, FastifyRequest } from 'fastify';
import { UnsupportedMediaTypeException } from '@nestjs/common';

/** The one route whose body is a stream of bytes (a bundle volume), read by its handler from the raw request. */
export const STREAMED_BODY_ROUTES = new Set(['/api/v1/bundles/uploads/:name']);

/**
 * What a body may be: JSON (Fastify's own parser, capped by the adapter's
 * bodyLimit, prototype poisoning refused) on every route, and on the upload
 * route any bytes, left unread for the handler to stream to disk (no cap: a
 * volume is GiBs). Anything else is 415 UNSUPPORTED_MEDIA_TYPE before the
 * route runs; a form or text body is never turned into an object.
 */
export function bodyParsers(fastify: FastifyInstance): void {
  fastify.removeContentTypeParser('text/plain');
  fastify.addContentTypeParser('*', (req: FastifyRequest, _payload: unknown, done: (err: Error | null, body?: unknown) => void) => {
    if (STREAMED_BODY_ROUTES.has(req.routeOptions.url ?? '')) done(null);
    else done(new UnsupportedMediaTypeException('send the request body as JSON, with the header content-type: application/json'));
  });
}
