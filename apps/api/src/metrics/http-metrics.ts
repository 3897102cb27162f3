import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Histogram, Registry } from 'prom-client';

/**
 * Every answer's time, by method, route pattern (never the raw path, so the
 * series stay few) and status class: the latency a dashboard or an alert
 * watches. It runs from the request's arrival at the application to its
 * answer sent; time spent waiting for the process to read it is not in it.
 */
export function httpMetrics(fastify: FastifyInstance, registry: Registry): void {
  const seconds = new Histogram({
    name: 'airlock_http_request_duration_seconds',
    help: 'Time from a request reaching the API to its answer sent, by method, route and status class',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const CLASSES = ['1xx', '1xx', '2xx', '3xx', '4xx', '5xx'];
  fastify.addHook('onResponse', (req: FastifyRequest, reply: FastifyReply, done: () => void) => {
    // routeOptions.url is the pattern (/api/v1/promotions/:id); the not-found handler has none
    const route = req.is404 ? 'unmatched' : (req.routeOptions.url ?? 'unmatched');
    seconds.observe({ method: req.method, route, status: CLASSES[Math.floor(reply.statusCode / 100)] ?? '5xx' }, reply.elapsedTime / 1000);
    done();
  });
}
