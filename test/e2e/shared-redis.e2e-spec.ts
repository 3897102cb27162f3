import { startPipeline, Pipeline } from '../support/pipeline';
import { startRedis, TestRedis } from '../support/redis';
import { pushRandomImage } from '../support/images';

/** Two deployments on one Redis, told apart by redis.prefix: neither's worker takes the other's jobs. */
describe('deployments sharing one Redis', () => {
  let redis: TestRedis;
  let a: Pipeline;
  let b: Pipeline;
  // other stage names for B: the test harness passes each stage's passphrase in an environment variable named for the stage
  const stages = (from: string, to: string) => [
    { name: from },
    { name: to, from: [{ stage: from, mapping: [{ from: `{${from}}/team/*`, to: `{${to}}/team/*` }] }], approvals: { required: 1 } },
  ];

  beforeAll(async () => {
    redis = await startRedis();
    a = await startPipeline(stages('dev', 'qa'), { redis });
    b = await startPipeline(stages('build', 'test'), { redis, worker: false });
  }, 120_000);
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await redis?.stop();
  });

  async function approved(p: Pipeline, from: string, to: string): Promise<string> {
    const src = p.registries[from];
    const img = await pushRandomImage({ url: src.url, host: src.host }, 'team/app', '1', { layers: [1000] });
    await p.signInStage(from, 'team/app', img.digest, img.reference);
    const r = await p.call('POST', '/api/v1/promotions', p.tokens.alice, { image: img.reference, from, to });
    await p.call('POST', `/api/v1/promotions/${r.body.id}/approve`, p.tokens.bob, {});
    return r.body.id;
  }

  it("keeps each deployment's queue to itself: B's job waits for B's worker while A's worker completes A's", async () => {
    const ofB = await approved(b, 'build', 'test');
    const ofA = await approved(a, 'dev', 'qa');
    expect((await a.waitFor(ofA, a.tokens.alice, ['completed', 'failed'])).state).toBe('completed');
    await new Promise((r) => setTimeout(r, 1000));
    expect((await b.call('GET', `/api/v1/promotions/${ofB}`, b.tokens.alice)).body.state).toBe('queued');
    await b.startWorker();
    expect((await b.waitFor(ofB, b.tokens.alice, ['completed', 'failed'])).state).toBe('completed');
  });
});
