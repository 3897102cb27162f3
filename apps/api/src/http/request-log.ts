import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';

const QUIET = new Set(['/health', '/metrics']);

type Logged = FastifyRequest & { principal?: { user: string } };

/**
 * One JSON line per answer, once it is sent (or once the client went away):
 * id, method, url, status, user and time. No headers are logged, so no
 * credential can be. Fastify's own per-request child logger stays off: one
 * line from the root logger costs a fraction of it, which mattered under
 * load (issue 7).
 */
export function logRequests(fastify: FastifyInstance, logger: Logger): void {
  const line = (req: Logged, status: number, ms: number) => ({
    req: {
      id: req.id,
      method: req.method,
      url: req.url.includes('token=') ? req.url.replace(/([?&]token=)[^&]*/g, '$1[redacted]') : req.url,
    },
    res: { statusCode: status },
    user: req.principal?.user,
    responseTime: ms,
  });
  fastify.addHook('onResponse', (req: Logged, reply: FastifyReply, done: () => void) => {
    if (!QUIET.has(req.url)) {
      const status = reply.statusCode;
      const l = line(req, status, reply.elapsedTime);
      if (status >= 500) logger.error(l, 'request errored');
      else if (status >= 400) logger.warn(l, 'request completed');
      else logger.info(l, 'request completed');
    }
    done();
  });
  fastify.addHook('onRequestAbort', (req: Logged, done: () => void) => {
    logger.warn(line(req, 0, 0), 'request aborted');
    done();
  });
}
