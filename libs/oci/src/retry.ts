import { setTimeout as sleep } from 'node:timers/promises';
import { isAirlockError } from '@airlock/common';
import { RegistryError } from './errors';

/** How often and how patiently transient registry faults are retried. */
export interface RetryPolicy {
  /** Total attempts, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 200, maxDelayMs: 15_000 };

/** Thrown inside an attempt to ask for another one; `retryAfterMs` comes from a Retry-After header. */
export class TransientError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TransientError';
  }
}

const TRANSIENT_NET_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/** True for network failures worth another attempt (resets, refused connections, timeouts). */
export function isTransientNetworkError(e: unknown): boolean {
  return hasNetworkCode(e, TRANSIENT_NET_CODES);
}

/** True when `e` or one of its causes (a few levels down, as undici and fetch nest them) carries one of these system error codes. */
export function hasNetworkCode(e: unknown, codes: ReadonlySet<string>): boolean {
  let cur: unknown = e;
  for (let i = 0; i < 5 && cur; i++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && codes.has(code)) return true;
    cur = (cur as { cause?: unknown }).cause;
  }
  return false;
}

/** True for HTTP statuses that a later attempt may get past. */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

/** Milliseconds from a Retry-After header (seconds or an HTTP date), capped; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, capMs = 60_000): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\s*\d+\s*$/.test(v)) return Math.min(Number(v) * 1000, capMs);
  const t = Date.parse(v);
  if (Number.isNaN(t)) return undefined;
  return Math.min(Math.max(0, t - Date.now()), capMs);
}

/** Exponential backoff with full jitter; a server's Retry-After wins when longer. */
export function backoffDelay(policy: RetryPolicy, attempt: number, retryAfterMs?: number): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  const jittered = exp / 2 + Math.random() * (exp / 2);
  return Math.max(jittered, retryAfterMs ?? 0);
}

/**
 * Runs `fn` until it succeeds, throws a non-transient error, or the policy's
 * attempts run out (then REGISTRY_UNAVAILABLE naming `what`).
 */
export async function withRetry<T>(
  policy: RetryPolicy,
  what: string,
  fn: (attempt: number) => Promise<T>,
  onRetry?: (attempt: number, delayMs: number, reason: string) => void,
): Promise<T> {
  let last: unknown;
  for (let attempt = 1; attempt <= policy.attempts; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      // an AirlockError is a decision already made, however it began: above all REGISTRY_UNAVAILABLE from the ping's own
      // retries (each request waits for the ping), which a second loop here turned into 5 x 5 attempts and 24 s of silence
      const transient = e instanceof TransientError || (!isAirlockError(e) && isTransientNetworkError(e));
      if (!transient) throw e;
      last = e;
      if (attempt === policy.attempts) break;
      const delay = backoffDelay(policy, attempt, e instanceof TransientError ? e.retryAfterMs : undefined);
      onRetry?.(attempt, delay, (e as Error).message);
      await sleep(delay);
    }
  }
  const reason = last instanceof Error ? last.message : String(last);
  throw new RegistryError(
    'REGISTRY_UNAVAILABLE',
    `${what} failed after ${policy.attempts} attempts: ${reason}`,
    { attempts: policy.attempts },
    { cause: last },
  );
}
