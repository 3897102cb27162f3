import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * Headers on every answer, and its request id (x-request-id, carried by
 * errors and audit events): no sniffing, no framing, no referrer, and for the
 * JSON API no caching and a CSP that allows nothing (the docs page and the
 * lookaside set their own caching). They go on the raw response, so they
 * are sent whether Fastify answers or a stream (SSE) writes it directly.
 */
export function securityHeaders(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (req: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const res = reply.raw;
    res.setHeader('x-request-id', req.id);
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('x-frame-options', 'DENY');
    res.setHeader('referrer-policy', 'no-referrer');
    res.setHeader('cross-origin-resource-policy', 'same-origin');
    if (!req.url.startsWith('/docs')) {
      res.setHeader('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
      if (!req.url.startsWith('/sigstore/')) res.setHeader('cache-control', 'no-store');
    }
    done();
  });
}
