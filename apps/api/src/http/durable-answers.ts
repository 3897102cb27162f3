import type { FastifyInstance } from 'fastify';
import type { GroupCommit } from '@airlock/database';

/**
 * No answer leaves before the writes it may show are on disk. Group commits
 * are visible to readers once committed, a few milliseconds before their
 * fsync ends (database/group-commit.ts); an answer sent in between could show
 * a promotion, an approval or a state that a power cut then undoes. Answers
 * wait only while an fsync is in flight.
 */
export function durableAnswers(fastify: FastifyInstance, commits: Pick<GroupCommit, 'durable'>): void {
  fastify.addHook('onSend', (_req, _reply, payload, done) => {
    const pending = commits.durable();
    if (!pending) return done(null, payload);
    pending.then(
      () => done(null, payload),
      () => done(null, payload),
    );
  });
}
