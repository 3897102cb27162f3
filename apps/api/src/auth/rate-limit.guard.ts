import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { AirlockError } from '@airlock/common';
import type { AuthedRequest } from './token.guard';

export const RATE_LIMIT_WINDOW_MS = 60_000;
export const RATE_LIMIT_PER_WINDOW = Symbol('RATE_LIMIT_PER_WINDOW');

/**
 * A fixed-window limit per token (per address when anonymous) on POST, PUT,
 * PATCH and DELETE: 429 RATE_LIMITED with Retry-After past it.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  private readonly windows = new Map<string, { start: number; count: number }>();

  /** `perWindow` changes per token and minute (server.rateLimitPerMinute). */
  constructor(@Inject(RATE_LIMIT_PER_WINDOW) private readonly perWindow: number) {}

  canActivate(ctx: ExecutionContext): boolean {
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    if (['GET', 'HEAD', 'OPTIONS'].includes(req.method)) return true;
    const key = req.principal?.tokenId ?? `ip:${req.ip}`;
    const now = Date.now();
    let w = this.windows.get(key);
    if (!w || now - w.start >= RATE_LIMIT_WINDOW_MS) {
      w = { start: now, count: 0 };
      this.windows.set(key, w);
      if (this.windows.size > 10_000) for (const [k, v] of this.windows) if (now - v.start >= RATE_LIMIT_WINDOW_MS) this.windows.delete(k);
    }
    w.count++;
    if (w.count > this.perWindow) {
      const retry = Math.ceil((w.start + RATE_LIMIT_WINDOW_MS - now) / 1000);
      void ctx.switchToHttp().getResponse<FastifyReply>().header('retry-after', String(retry));
      throw new AirlockError(
        'RATE_LIMITED',
        `more than ${this.perWindow} changes in ${RATE_LIMIT_WINDOW_MS / 1000} s from this token; retry in ${retry} s`,
      );
    }
    return true;
  }
}
