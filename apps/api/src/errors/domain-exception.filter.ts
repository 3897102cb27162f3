import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import { isAirlockError, wasAudited } from '@airlock/common';
import { AuditLog } from '@airlock/audit';
import type { Principal } from '@airlock/promotion';
import { httpStatusFor } from './http-status';

/** Request id: the client's X-Request-Id when sane, else a new one. */
export function requestIdOf(req: Request): string {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(given) ? given : undefined;
  const r = req as Request & { airlockRequestId?: string };
  r.airlockRequestId ??= id ?? randomUUID();
  return r.airlockRequestId;
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
    const req = ctx.getRequest<Request>();
    const res = ctx.getResponse<Response>();
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
      body = { code: (typeof r === 'object' && r.code) || httpCode(status), message: msg };
    } else if (isSqliteFull(err)) {
      status = 507;
      body = { code: 'DATABASE_FULL', message: 'the database disk is full; nothing was recorded for this request; free space and retry' };
      this.log.error(`${requestId} DATABASE_FULL: ${(err as Error).message}`);
    } else if (isClientError(err)) {
      // body-parser and friends: malformed JSON, a body over the limit, an unknown charset
      status = err.status;
      body = {
        code: httpCode(status),
        message:
          status === 413
            ? 'the request body is too large'
            : status === 400
              ? 'the request body is not valid JSON'
              : String(err.message).split('\n')[0].slice(0, 200),
      };
    } else {
      this.log.error(`${requestId} unexpected: ${(err as Error)?.stack ?? String(err)}`);
      body = { code: 'INTERNAL', message: `internal error; quote request id ${requestId}` };
    }
    // every refusal of bad input is an audit event (domain refusals are recorded where they happen)
    if (status >= 400 && status < 500 && !wasAudited(err) && this.audit && !req.path.startsWith('/sigstore/')) {
      const p = (req as Request & { principal?: Principal }).principal;
      try {
        this.audit.append({
          actor: p?.user ?? 'anonymous',
          role: p?.roles[0],
          action: 'request.refused',
          requestId,
          details: {
            route: `${req.method} ${(req.route as { path?: string } | undefined)?.path ?? req.path}`,
            status,
            code: body.code,
            message: body.message.slice(0, 500),
          },
        });
      } catch {
        /* the database is away: the answer still goes out */
      }
    }
    if (res.headersSent) return;
    res.setHeader('x-request-id', requestId);
    res.status(status).json({ error: { ...body, requestId } });
  }
}

function isSqliteFull(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return code === 'SQLITE_FULL' || (code === 'SQLITE_IOERR_WRITE' && /full/i.test(String((e as Error).message)));
}

function isClientError(e: unknown): e is { status: number; message: string } {
  const s = (e as { status?: unknown })?.status;
  return typeof s === 'number' && s >= 400 && s < 500 && typeof (e as { type?: unknown }).type === 'string';
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
