import type { FastifyInstance } from 'fastify';
import { isSharedAnswer } from '@airlock/database';

/**
 * A shared answer is serialized once. The read cache (database/read-cache.ts)
 * hands the same deeply frozen page to every client until the database
 * changes; such a value cannot change, so its JSON is kept beside it (weakly:
 * it goes when the cache lets the value go) instead of being built again for
 * each of the clients polling it. Anything else is serialized as Fastify would.
 */
export function sharedAnswers(fastify: FastifyInstance): void {
  const json = new WeakMap<object, string>();
  fastify.setReplySerializer((payload) => {
    if (!isSharedAnswer(payload)) return JSON.stringify(payload);
    let s = json.get(payload);
    if (s === undefined) json.set(payload, (s = JSON.stringify(payload)));
    return s;
  });
}
