import type { NextFunction, Request, Response } from 'express';
import type { INestApplication } from '@nestjs/common';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { ApiRuntime } from '../api-runtime';

export const QUEUE_DASHBOARD_PATH = '/admin/queues';

/**
 * Bull Board over the promotions queue, for admins only: the same bearer
 * tokens as the API (send `Authorization: Bearer al_...`), role admin.
 */
export function mountQueueDashboard(app: INestApplication, rt: ApiRuntime): void {
  const adapter = new ExpressAdapter();
  adapter.setBasePath(QUEUE_DASHBOARD_PATH);
  createBullBoard({ queues: [new BullMQAdapter(rt.queue.queue, { readOnlyMode: false })], serverAdapter: adapter });
  const guard = (req: Request, res: Response, next: NextFunction) => {
    const h = req.headers.authorization;
    const p = rt.tokens.authenticate(typeof h === 'string' && h.startsWith('Bearer ') ? h.slice(7) : undefined);
    if (!p || !p.roles.includes('admin')) {
      rt.audit.append({
        actor: p?.user ?? 'anonymous',
        action: 'auth.forbidden',
        details: { route: QUEUE_DASHBOARD_PATH, needs: ['admin'] },
      });
      res.status(p ? 403 : 401).json({
        error: { code: p ? 'FORBIDDEN' : 'UNAUTHENTICATED', message: 'the queue dashboard is for admins (Authorization: Bearer al_...)' },
      });
      return;
    }
    next();
  };
  app.use(QUEUE_DASHBOARD_PATH, guard, adapter.getRouter());
}
