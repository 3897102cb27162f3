import type { FastifyInstance } from 'fastify';

/**
 * Reads are answered ahead of writes that arrived with them. A write's
 * handler (a registry round trip, a commit, audit events) starts only on the
 * event loop's next check phase, after every request read from the sockets
 * in this turn has run: a read that came in beside twenty writes is answered
 * before their work, not after it. A write waits one turn at most.
 */
export function readsFirst(fastify: FastifyInstance): void {
  fastify.addHook('preHandler', (req, _reply, done) => {
    if (req.method === 'GET' || req.method === 'HEAD') done();
    else setImmediate(done);
  });
}
