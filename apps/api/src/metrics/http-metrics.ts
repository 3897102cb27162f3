import type { NextFunction, Request, Response } from 'express';
import { Histogram, Registry } from 'prom-client';

/**
 * Every answer's time, by method, route pattern (never the raw path, so the
 * series stay few) and status class: the latency a dashboard or an alert
 * watches. It runs from the request's arrival at the application to its
 * answer sent; time spent waiting for the process to read it is not in it.
 */
export function httpMetrics(registry: Registry) {
  const seconds = new Histogram({
    name: 'airlock_http_request_duration_seconds',
    help: 'Time from a request reaching the API to its answer sent, by method, route and status class',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  return (req: Request, res: Response, next: NextFunction): void => {
    const start = process.hrtime.bigint();
    res.once('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path;
      seconds.observe(
        { method: req.method, route: route ? `${req.baseUrl}${route}` : 'unmatched', status: `${Math.floor(res.statusCode / 100)}xx` },
        Number(process.hrtime.bigint() - start) / 1e9,
      );
    });
    next();
  };
}
