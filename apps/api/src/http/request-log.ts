import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { requestIdOf } from '../errors/domain-exception.filter';

const QUIET = new Set(['/health', '/metrics']);

/**
 * Gives every request its id (echoed as x-request-id, carried by errors and
 * audit events) and, when a logger is given, writes one JSON line when the
 * answer is sent or the client goes away: id, method, url, status, user and
 * time. No headers are logged, so no credential can be. One line from the
 * root logger costs a fraction of a per-request child logger, which mattered
 * under load (issue 7).
 */
export function requestLog(logger?: Logger) {
  return (req: Request & { log?: Logger; principal?: { user: string } }, res: Response, next: NextFunction): void => {
    const id = requestIdOf(req);
    res.setHeader('x-request-id', id);
    if (logger) {
      req.log = logger;
      if (!QUIET.has(req.url)) {
        const start = process.hrtime.bigint();
        res.once('close', () => {
          const status = res.statusCode;
          const url = req.originalUrl.includes('token=') ? req.originalUrl.replace(/([?&]token=)[^&]*/g, '$1[redacted]') : req.originalUrl;
          const line = {
            req: { id, method: req.method, url },
            res: { statusCode: status },
            user: req.principal?.user,
            responseTime: Number(process.hrtime.bigint() - start) / 1e6,
          };
          if (!res.writableFinished) logger.warn(line, 'request aborted');
          else if (status >= 500) logger.error(line, 'request errored');
          else if (status >= 400) logger.warn(line, 'request completed');
          else logger.info(line, 'request completed');
        });
      }
    }
    next();
  };
}
