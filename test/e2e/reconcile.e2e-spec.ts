import IORedis from 'ioredis';
import { Worker } from 'bullmq';
import { BullPromotionQueue } from '@airlock/promotion/bullmq';
import { QUEUES } from '../../libs/promotion/src/queues';
import { startRedis } from '../support/redis';
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

describe('the queue names the jobs the reconciler must read, many at a time', () => {
  it('of waiting, completed, failed and never-added jobs, names all but the waiting one, past one script call', async () => {
    const redis = await startRedis();
    const conn = new IORedis(redis.url, { maxRetriesPerRequest: null });
    const workerConn = new IORedis(redis.url, { maxRetriesPerRequest: null });
    const prefix = 'unsettled-test';
    const q = new BullPromotionQueue(conn, { attempts: 1, backoffMs: 0 }, prefix);
    const job = (promotionId: string) => ({
      promotionId,
      attempt: 1,
      fromStage: 'dev',
      toStage: 'qa',
      source: 's',
      digest: 'd',
      target: 't',
    });
    const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
    try {
      const done = new Promise<void>((resolve) => {
        let ended = 0;
        const w = new Worker(
          QUEUES.promotions,
          async (j) => {
            if (j.data.promotionId === id(2)) throw new Error('SIGNATURE_INVALID: no');
            return { ok: true };
          },
          { connection: workerConn, prefix },
        );
        const end = () => {
          if (++ended === 2) void w.close().then(() => resolve());
        };
        w.on('completed', end);
        w.on('failed', end);
      });
      await q.enqueue(job(id(1)));
      await q.enqueue(job(id(2)));
      await done;
      // added after the worker stopped: waiting
      await q.enqueue(job(id(3)));
      const asked = [1, 2, 3, 4].map((n) => ({ promotionId: id(n), attempt: 1 }));
      expect(await q.unsettled(asked)).toEqual([id(1), id(2), id(4)]);
      // the same job at another attempt is another job: never added
      expect(await q.unsettled([{ promotionId: id(3), attempt: 2 }])).toEqual([id(3)]);
      // more than one call's worth (500): every never-added one named, in order, the waiting one not
      const many = Array.from({ length: 1203 }, (_, n) => ({ promotionId: id(100 + n), attempt: 1 }));
      const named = await q.unsettled([...many.slice(0, 700), { promotionId: id(3), attempt: 1 }, ...many.slice(700)]);
      expect(named).toEqual(many.map((m) => m.promotionId));
    } finally {
      await q.close();
      conn.disconnect();
      workerConn.disconnect();
      await redis.stop();
    }
  });
});
