import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import { isAirlockError, wasAudited } from '@airlock/common';
import { AuditLog } from '@airlock/audit';
import type { Principal } from '@airlock/promotion';
import { httpStatusFor } from './http-status';

/** Fastify's genReqId: the client's X-Request-Id when sane, else a new one. */
export function newRequestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(given) ? given : randomUUID();
}

/** The request's id (newRequestId), echoed as x-request-id and carried by errors and audit events. */
export function requestIdOf(req: FastifyRequest): string {
  return req.id;
}

/** The route a request matched, as its pattern (`GET /api/v1/promotions/:id`), or its path when none matched. */
export function routeOf(req: FastifyRequest): string {
  return `${req.method} ${req.is404 ? req.url.split('?')[0] : (req.routeOptions.url ?? req.url.split('?')[0])}`;
}

/**
 * Maps every error to `{ error: { code, message, requestId } }`: domain codes
 * to their status, Nest HTTP errors to theirs, anything else to a 500 that
 * names only the request id (details go to the log, never to the client).
 */
@Catch()
export class DomainExceptionFilter implements ExceptionFilter {
  private readonly log = new Logger('errors');

  constructor(private readonly audit?: AuditLog) {}

  catch(err: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<FastifyRequest>();
    const reply = ctx.getResponse<FastifyReply>();
    const requestId = requestIdOf(req);
    let status = 500;
    let body: { code: string; message: string; details?: unknown };
    if (isAirlockError(err)) {
      status = httpStatusFor(err.code);
      body = { code: err.code, message: err.message };
      if (status >= 500) this.log.error(`${requestId} ${err.code}: ${err.message}`);
    } else if (err instanceof HttpException) {
      status = err.getStatus();
      const r = err.getResponse() as string | { message?: string | string[]; code?: string };
      const msg = typeof r === 'string' ? r : Array.isArray(r.message) ? r.message.join('; ') : (r.message ?? err.message);
      body = { code: (typeof r === 'object' && r.code) || httpCode(status), message: status === 413 ? TOO_LARGE : msg };
    } else if (isSqliteFull(err)) {
      status = 507;
      body = { code: 'DATABASE_FULL', message: 'the database disk is full; nothing was recorded for this request; free space and retry' };
      this.log.error(`${requestId} DATABASE_FULL: ${(err as Error).message}`);
    } else if (isClientError(err)) {
      // what Fastify refuses before a route runs: malformed JSON (a SyntaxError), a body over the limit, a bad URL
      status = err.statusCode;
      body = {
        code: httpCode(status),
        message:
          status === 413
            ? TOO_LARGE
            : err instanceof SyntaxError
              ? 'the request body is not valid JSON'
              : String(err.message).split('\n')[0].slice(0, 200),
      };
    } else {
      this.log.error(`${requestId} unexpected: ${(err as Error)?.stack ?? String(err)}`);
      body = { code: 'INTERNAL', message: `internal error; quote request id ${requestId}` };
    }
    // every refusal of bad input is an audit event (domain refusals are recorded where they happen)
    if (status >= 400 && status < 500 && !wasAudited(err) && this.audit && !req.url.startsWith('/sigstore/')) {
      const p = (req as FastifyRequest & { principal?: Principal }).principal;
      try {
        this.audit.append({
          actor: p?.user ?? 'anonymous',
          role: p?.roles[0],
          action: 'request.refused',
          requestId,
          details: {
            route: routeOf(req),
            status,
            code: body.code,
            message: body.message.slice(0, 500),
          },
        });
      } catch {
        /* the database is away: the answer still goes out */
      }
    }
    if (reply.sent || reply.raw.headersSent) return;
    void reply
      .code(status)
      .header('x-request-id', requestId)
      .send({ error: { ...body, requestId } });
  }
}

function isSqliteFull(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return code === 'SQLITE_FULL' || (code === 'SQLITE_IOERR_WRITE' && /full/i.test(String((e as Error).message)));
}

const TOO_LARGE = 'the request body is too large (at most 64 KiB of JSON)';

/** An error Fastify raised for the request itself (its status on it): never one of the server's own. */
function isClientError(e: unknown): e is Error & { statusCode: number } {
  const s = (e as { statusCode?: unknown })?.statusCode;
  return typeof s === 'number' && s >= 400 && s < 500 && e instanceof Error;
}

function httpCode(status: number): string {
  switch (status) {
    case 400:
      return 'INVALID_ARGUMENT';
    case 401:
      return 'UNAUTHENTICATED';
    case 403:
      return 'FORBIDDEN';
    case 404:
      return 'NOT_FOUND';
    case 413:
      return 'PAYLOAD_TOO_LARGE';
    case 415:
      return 'UNSUPPORTED_MEDIA_TYPE';
    case 429:
      return 'RATE_LIMITED';
    case 507:
      return 'DATABASE_FULL';
    default:
      return status >= 500 ? 'INTERNAL' : 'INVALID_ARGUMENT';
  }
}
