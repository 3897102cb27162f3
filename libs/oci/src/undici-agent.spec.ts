import * as undici from 'undici';
import { Agent } from './undici-agent';

/**
 * undici-agent.ts loads undici's Agent from its private paths to skip the
 * index's start-up cost; package.json pins undici's exact version, and this
 * checks the assumption against that version: the Agent is undici's own,
 * with the request API the index mixes in.
 */
describe('undici Agent from its private paths', () => {
  it("is the public index's Agent, with the request API", () => {
    expect(Agent).toBe(undici.Agent);
    const a = new Agent();
    for (const m of ['request', 'stream', 'pipeline', 'connect', 'upgrade'] as const)
      expect([m, typeof (a as unknown as Record<string, unknown>)[m]]).toEqual([m, 'function']);
    return a.close();
  });
});
