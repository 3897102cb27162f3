import { startPipeline, Pipeline } from '../support/pipeline';
import type { TestRegistry } from '../support/registry';

/** A registry nobody listens on: the other side of an air gap, as seen from this side. */
const unreachable = (): TestRegistry => ({ host: '127.0.0.1:9', url: 'http://127.0.0.1:9', dir: '', stop: async () => undefined });

/**
 * In a real deployment each side reaches only its own registries: readiness
 * asks what this instance must reach and names, without asking, the stage
 * across the gap (it answered 503 for ever on both sides).
 */
describe('readiness across the air gap', () => {
  const sides: Pipeline[] = [];
  afterAll(async () => {
    for (const p of sides) await p.stop();
  });

  it('the low side is ready without production registry, the high side without QA; a registry of its own side down still makes it unready', async () => {
    const low = await startPipeline(
      [
        { name: 'qa' },
        {
          name: 'prod',
          withKey: false,
          transport: 'bundle',
          from: [{ stage: 'qa', mapping: [{ from: '{qa}/team/*', to: '{prod}/team/*' }] }],
        },
      ],
      {
        registries: { prod: unreachable() },
        worker: false,
        extra: () => ({ channels: [{ name: 'qa-to-prod', from: 'qa', to: 'prod', encrypt: false }] }),
      },
    );
    sides.push(low);
    const high = await startPipeline(
      [
        { name: 'qa', withKey: false },
        { name: 'prod', from: [{ stage: 'qa', trustedKeys: ['keys/prod.pub'], mapping: [{ from: '{qa}/team/*', to: '{prod}/team/*' }] }] },
      ],
      {
        registries: { qa: unreachable() },
        worker: false,
        extra: () => ({ channels: [{ name: 'qa-to-prod', from: 'qa', to: 'prod', encrypt: false, trustedSenders: ['keys/prod.pub'] }] }),
      },
    );
    sides.push(high);

    const l = await low.call('GET', '/health/ready');
    expect([l.status, l.body.details['registry:qa'].status, l.body.details['registry:prod']]).toEqual([
      200,
      'up',
      { status: 'up', host: '127.0.0.1:9', checked: false, reason: 'across the air gap (channel qa-to-prod)' },
    ]);
    const h = await high.call('GET', '/health/ready');
    expect([h.status, h.body.details['registry:prod'].status, h.body.details['registry:qa']]).toEqual([
      200,
      'up',
      { status: 'up', host: '127.0.0.1:9', checked: false, reason: 'across the air gap (channel qa-to-prod)' },
    ]);

    await high.registries.prod.stop();
    const down = await high.call('GET', '/health/ready');
    expect([down.status, down.body.details['registry:prod'].status]).toEqual([503, 'down']);
  });
});
