import type { NextFunction, Request, Response } from 'express';

/**
 * Headers on every answer: no sniffing, no framing, no referrer, and for the
 * JSON API no caching and a CSP that allows nothing (the docs page and the
 * lookaside set their own caching).
 */
export function securityHeaders(req: Request, res: Response, next: NextFunction): void {
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('referrer-policy', 'no-referrer');
  res.setHeader('cross-origin-resource-policy', 'same-origin');
  if (!req.path.startsWith('/docs')) {
    res.setHeader('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
    if (!req.path.startsWith('/sigstore/')) res.setHeader('cache-control', 'no-store');
  }
  next();
}
