import IORedis from 'ioredis';
import { startPipeline, Pipeline } from '../support/pipeline';
import { pushRandomImage } from '../support/images';
import { skopeoRawDigest } from '../support/skopeo';

describe('Redis can be lost: the reconciler re-enqueues pending promotions', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline(
      [
        { name: 'dev' },
        { name: 'qa', from: [{ stage: 'dev', mapping: [{ from: '{dev}/team/*', to: '{qa}/team/*' }] }], approvals: { required: 1 } },
      ],
      { worker: false },
    );
  });
  afterAll(async () => p?.stop());

  it('completes a promotion whose job was wiped from Redis, once', async () => {
    const dev = p.registries.dev;
    const img = await pushRandomImage({ url: dev.url, host: dev.host }, 'team/wiped', '1', { layers: [1 << 20] });
    await p.signInStage('dev', 'team/wiped', img.digest, img.reference);
    const req = await p.call('POST', '/api/v1/promotions', p.tokens.alice, { image: img.reference, from: 'dev', to: 'qa' });
    expect((await p.call('POST', `/api/v1/promotions/${req.body.id}/approve`, p.tokens.bob, {})).body.state).toBe('queued');
    const r = new IORedis(p.redis.url);
    expect(await r.keys('*')).not.toEqual([]);
    await r.flushall();
    await r.quit();
    // the reconciler (every 500 ms here) notices the job is gone and enqueues it again
    const end = Date.now() + 10_000;
    while (!p.api.runtime.audit.forPromotion(req.body.id).some((e) => e.action === 'promotion.requeued')) {
      if (Date.now() > end) throw new Error('not requeued');
      await new Promise((res) => setTimeout(res, 100));
    }
    await p.startWorker();
    const done = await p.waitFor(req.body.id, p.tokens.alice, ['completed', 'failed']);
    expect(done.state).toBe('completed');
    expect(await skopeoRawDigest(`${p.registries.qa.host}/team/wiped:1`)).toBe(img.digest);
    const ev = p.api.runtime.audit.forPromotion(req.body.id);
    expect(ev.filter((e) => e.action === 'promotion.state' && e.details.to === 'completed')).toHaveLength(1);
    expect(done.result.signatures).toEqual([expect.objectContaining({ n: 1 })]);
  });
});
