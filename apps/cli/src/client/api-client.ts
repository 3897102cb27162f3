import { AirlockError, ERROR_CODES, ErrorCode } from '@airlock/common';
import { lazy } from '../lazy';
import type { ServerContext } from './server-context';
import type { components } from './api-types';

/** The answers' types, generated from the API's OpenAPI document (docs/openapi.json): the client cannot drift from the API. */
export type Schemas = components['schemas'];
export type Promotion = Schemas['Promotion'];
export type StateChange = Schemas['StateChange'];

/** One server-sent event: its type (`event:`) and its parsed data. */
export interface ServerEvent {
  type: string;
  data: unknown;
}

/** An answer that is not a success, as the CLI reports it: the server's code when it is one of ours, its message and request id. */
function refusal(status: number, text: string, what: string): AirlockError {
  let err: { code?: unknown; message?: unknown; requestId?: unknown } | undefined;
  try {
    err = (JSON.parse(text) as { error?: typeof err }).error;
  } catch {
    /* not our error shape */
  }
  const serverCode = typeof err?.code === 'string' ? err.code : undefined;
  const message = typeof err?.message === 'string' ? err.message : `the server answered ${status} to ${what}`;
  const known = serverCode && (ERROR_CODES as readonly string[]).includes(serverCode);
  const code: ErrorCode = known ? (serverCode as ErrorCode) : status >= 500 ? 'INTERNAL' : 'INVALID_ARGUMENT';
  const rid = typeof err?.requestId === 'string' ? ` (request ${err.requestId})` : '';
  return new AirlockError(code, `${!known && serverCode ? `${serverCode}: ` : ''}${message}${rid}`);
}

/**
 * A client of a running airlock's REST API: JSON in and out with the
 * bearer token, every refusal an AirlockError with the server's code (so the
 * exit code is the documented one), an unreachable server API_UNAVAILABLE.
 */
export class ApiClient {
  constructor(readonly ctx: ServerContext) {}

  private target(path: string, query?: Record<string, string | number | undefined>): string {
    const q = Object.entries(query ?? {}).filter(([, v]) => v !== undefined && v !== '');
    return `${this.ctx.url}${path}${q.length ? `?${new URLSearchParams(q.map(([k, v]): [string, string] => [k, String(v)])).toString()}` : ''}`;
  }

  private async send(method: string, url: string, body?: unknown, accept = 'application/json') {
    const { request } = lazy.undici();
    const headers: Record<string, string> = { authorization: `Bearer ${this.ctx.token}`, accept };
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      return await request(url, {
        method: method as 'GET',
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: 30_000,
        bodyTimeout: accept === 'text/event-stream' ? 0 : 60_000,
      });
    } catch (e) {
      throw new AirlockError(
        'API_UNAVAILABLE',
        `cannot reach airlock at ${this.ctx.url} (from ${this.ctx.from}): ${(e as Error).message}`,
        {},
        { cause: e },
      );
    }
  }

  /** A JSON request; the parsed answer, or the server's refusal thrown. */
  async json<T>(
    method: 'GET' | 'POST',
    path: string,
    o: { query?: Record<string, string | number | undefined>; body?: unknown } = {},
  ): Promise<T> {
    const what = `${method} ${path}`;
    const res = await this.send(method, this.target(path, o.query), method === 'POST' ? (o.body ?? {}) : undefined);
    const text = await res.body.text();
    if (res.statusCode >= 400) throw refusal(res.statusCode, text, what);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new AirlockError('INTERNAL', `the server's answer to ${what} is not JSON (is ${this.ctx.url} an airlock?)`);
    }
  }

  /** Reads a server-sent event stream until the server ends it, or `onEvent` returns true. */
  async events(path: string, onEvent: (e: ServerEvent) => boolean | void): Promise<void> {
    const res = await this.send('GET', this.target(path), undefined, 'text/event-stream');
    if (res.statusCode >= 400) throw refusal(res.statusCode, await res.body.text(), `GET ${path}`);
    let buf = '';
    try {
      for await (const chunk of res.body) {
        buf += (chunk as Buffer).toString('utf8');
        let end: number;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const type = /^event: ?(.*)$/m.exec(block)?.[1] ?? 'message';
          const data = block
            .split('\n')
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(l.startsWith('data: ') ? 6 : 5))
            .join('\n');
          if (!data) continue;
          if (onEvent({ type, data: JSON.parse(data) as unknown })) return;
        }
      }
    } finally {
      res.body.destroy();
    }
  }
}
