import type { OpenAPIObject } from '@nestjs/swagger';
import { ERROR_CODES, ErrorCode } from '@airlock/common';
import { httpStatusFor } from '../errors/http-status';
import { ROUTE_DOCS, RouteDoc } from './route-docs';
import { SCHEMAS } from './schemas';

/** Codes Fastify's own refusals map to (the error filter), outside the domain catalogue. */
const HTTP_ONLY: Record<string, number> = { UNSUPPORTED_MEDIA_TYPE: 415, PAYLOAD_TOO_LARGE: 413 };

const statusOf = (code: string): number =>
  HTTP_ONLY[code] ?? ((ERROR_CODES as readonly string[]).includes(code) ? httpStatusFor(code as ErrorCode) : 500);

const ERROR_REF = { $ref: '#/components/schemas/Error' };

/** The codes any route of this kind can answer, besides its own. */
function commonErrors(method: string, d: RouteDoc): string[] {
  const codes = ['INTERNAL'];
  if (!d.public) codes.push('UNAUTHENTICATED');
  if (d.roles?.length) codes.push('FORBIDDEN');
  if (method === 'post' || method === 'put') {
    codes.push('RATE_LIMITED', 'DATABASE_UNAVAILABLE', 'DATABASE_FULL');
    if (method === 'post') codes.push('INVALID_ARGUMENT', 'UNSUPPORTED_MEDIA_TYPE', 'PAYLOAD_TOO_LARGE');
  }
  return codes;
}

/**
 * Completes the document Nest builds from the controllers (paths, request
 * bodies, query parameters) with what a client generator needs: each
 * route's summary, its success schema, its error answers by status with the
 * codes they carry, whether it needs a token and which roles, and the
 * answers' schemas. Throws when a route has no entry in ROUTE_DOCS or an
 * entry names no route.
 */
export function describeApi(doc: OpenAPIObject): OpenAPIObject {
  doc.components = {
    ...doc.components,
    schemas: { ...doc.components?.schemas, ...(SCHEMAS as NonNullable<OpenAPIObject['components']>['schemas']) },
    securitySchemes: {
      bearer: {
        type: 'http',
        scheme: 'bearer',
        description:
          'An opaque API token (`al_<id>_<secret>`), made with `airlock tokens create --user NAME --role ROLE` and stored only as a hash; not a JWT: a client can read nothing from it.',
      },
    },
  };
  const seen = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item as Record<string, Record<string, unknown>>)) {
      if (!['get', 'post', 'put', 'delete', 'patch'].includes(method)) continue;
      const key = `${method.toUpperCase()} ${path}`;
      const d = ROUTE_DOCS[key];
      if (!d) throw new Error(`route ${key} has no documented answer: add it to apps/api/src/openapi/route-docs.ts`);
      seen.add(key);
      op.summary = d.summary;
      op.security = d.public ? [] : [{ bearer: [] }];
      if (d.roles?.length) op.description = `Roles: ${d.roles.join(', ')} (admin holds every role).`;
      else if (!d.public) op.description = 'Any valid token.';
      // a file or a stream as bytes of its media type; JSON by its schema (the policy route answers either)
      const content: Record<string, object> = {};
      if (d.ok.media) content[d.ok.media] = { schema: { type: 'string', format: d.ok.media.startsWith('text/') ? undefined : 'binary' } };
      if (d.ok.schema) content['application/json'] = { schema: { $ref: `#/components/schemas/${d.ok.schema}` } };
      const responses: Record<string, object> = { [String(d.ok.status)]: { description: d.ok.description, content } };
      const byStatus = new Map<number, string[]>();
      for (const code of [...d.errors, ...commonErrors(method, d)]) {
        const s = statusOf(code);
        byStatus.set(s, [...(byStatus.get(s) ?? []), code]);
      }
      for (const [s, codes] of [...byStatus].sort((a, b) => a[0] - b[0]))
        responses[String(s)] = {
          description: `error codes: ${[...new Set(codes)].join(', ')}`,
          content: { 'application/json': { schema: ERROR_REF } },
        };
      for (const [s, o] of Object.entries(d.other ?? {}))
        responses[s] = {
          description: o.description,
          content: {
            [o.media ?? 'application/json']: { schema: o.schema ? { $ref: `#/components/schemas/${o.schema}` } : { type: 'string' } },
          },
        };
      op.responses = responses;
    }
  }
  const stale = Object.keys(ROUTE_DOCS).filter((k) => !seen.has(k));
  if (stale.length) throw new Error(`apps/api/src/openapi/route-docs.ts documents routes the API does not serve: ${stale.join(', ')}`);
  return doc;
}
