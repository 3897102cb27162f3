import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { ApiRuntime } from '../api-runtime';

export const QUEUE_DASHBOARD_PATH = '/admin/queues';

/**
 * Bull Board over the promotions queue, for admins only: the same bearer
 * tokens as the API (send `Authorization: Bearer al_...`), role admin. The
 * board and its guard live in a Fastify scope of their own under the path.
 */
export async function mountQueueDashboard(app: NestFastifyApplication, rt: ApiRuntime): Promise<void> {
  const adapter = new FastifyAdapter();
  adapter.setBasePath(QUEUE_DASHBOARD_PATH);
  createBullBoard({ queues: [new BullMQAdapter(rt.queue.queue, { readOnlyMode: false })], serverAdapter: adapter });
  const guard = async (req: FastifyRequest, reply: FastifyReply) => {
    const h = req.headers.authorization;
    const p = rt.tokens.authenticate(typeof h === 'string' && h.startsWith('Bearer ') ? h.slice(7) : undefined);
    if (p && p.roles.includes('admin')) return;
    rt.audit.append({
      actor: p?.user ?? 'anonymous',
      action: 'auth.forbidden',
      requestId: req.id,
      details: { route: QUEUE_DASHBOARD_PATH, needs: ['admin'] },
    });
    await reply.code(p ? 403 : 401).send({
      error: {
        code: p ? 'FORBIDDEN' : 'UNAUTHENTICATED',
        message: 'the queue dashboard is for admins (Authorization: Bearer al_...)',
        requestId: req.id,
      },
    });
  };
  await app.register(
    async (scope: FastifyInstance) => {
      scope.addHook('onRequest', guard);
      await scope.register(adapter.registerPlugin());
    },
    { prefix: QUEUE_DASHBOARD_PATH },
  );
}
