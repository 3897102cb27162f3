import { readdirSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPipeline, Pipeline } from '../support/pipeline';
import { startRegistry, TestRegistry } from '../support/registry';
import { pushRandomImage } from '../support/images';
import { FaultProxy } from '../support/fault-proxy';
import { WorkerProcess } from '../support/airlock-process';
import { skopeoRawDigest } from '../support/skopeo';

const walk = (d: string): string[] =>
  existsSync(d)
    ? readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)]))
    : [];

describe('faults: kill -9, Redis restarts, registry failures, API restarts', () => {
  let p: Pipeline;
  let qaReal: TestRegistry;
  let proxy: FaultProxy;

  beforeAll(async () => {
    // QA's registry sits behind a fault proxy
    qaReal = await startRegistry();
    proxy = await new FaultProxy(qaReal.url).start();
    const qa: TestRegistry = { host: proxy.host, url: proxy.url, dir: qaReal.dir, stop: async () => undefined };
    p = await startPipeline(
      [
        { name: 'dev' },
        { name: 'qa', from: [{ stage: 'dev', mapping: [{ from: '{dev}/team/*', to: '{qa}/team/*' }] }], approvals: { required: 1 } },
      ],
      {
        worker: false,
        aof: true,
        registries: { qa },
        extra: () => ({ worker: { concurrency: 4, lockSeconds: 2 } }),
      },
    );
  });
  afterAll(async () => {
    await p?.stop();
    await proxy?.stop();
    await qaReal?.stop();
  });

  async function requested(repo: string, layers = [3 << 20, 3 << 20]) {
    const dev = p.registries.dev;
    const img = await pushRandomImage({ url: dev.url, host: dev.host }, repo, '1', { layers });
    await p.signInStage('dev', repo, img.digest, img.reference);
    const id = (await p.call('POST', '/api/v1/promotions', p.tokens.alice, { image: img.reference, from: 'dev', to: 'qa' })).body
      .id as string;
    await p.call('POST', `/api/v1/promotions/${id}/approve`, p.tokens.bob, {});
    return { img, id };
  }

  function assertOnce(id: string, repo: string, digest: string): void {
    const ev = p.api.runtime.audit.forPromotion(id);
    expect(ev.filter((e) => e.action === 'promotion.state' && e.details.to === 'completed')).toHaveLength(1);
    const sigDir = join(p.dir, 'sigstore', 'qa', `${repo}@${digest.replace(':', '=')}`);
    expect(readdirSync(sigDir)).toEqual(['signature-1']);
    expect(walk(join(p.dir, 'sigstore')).filter((f) => f.includes('.tmp'))).toEqual([]);
  }

  it.each(['promote:mid-copy', 'promote:copied', 'promote:signed', 'promote:published-one'])(
    'a worker killed with -9 at %s: a new worker finishes it, once',
    async (point) => {
      const repo = `team/kill-${point.split(':')[1]}`;
      const { img, id } = await requested(repo);
      const doomed = new WorkerProcess(p.config.path, { AIRLOCK_FAULT_AT: point });
      const died = await doomed.exited;
      expect(died.signal).toBe('SIGKILL');
      const next = new WorkerProcess(p.config.path);
      try {
        const done = await p.waitFor(id, p.tokens.alice, ['completed', 'failed'], 60_000);
        expect(done.state).toBe('completed');
        expect(await skopeoRawDigest(`${proxy.host}/${repo}:1`)).toBe(img.digest);
        assertOnce(id, repo, img.digest);
      } finally {
        await next.stop();
      }
    },
  );

  it.each([
    ['with its data (AOF): the queued promotion survives and runs once', 'team/aof', false],
    ['wiped: the reconciler enqueues the promotion again and it runs once', 'team/wiped', true],
  ])('Redis restarted %s', async (_case, repo, wiped) => {
    const { img, id } = await requested(repo, [1000]);
    await p.restartRedis(wiped);
    const w = new WorkerProcess(p.config.path);
    try {
      const done = await p.waitFor(id, p.tokens.alice, ['completed', 'failed'], 60_000);
      expect(done.state).toBe('completed');
      assertOnce(id, repo, img.digest);
      // a worker alone runs at nice 10 (worker.nice): it yields the CPU to the API it shares a machine with
      expect(Number(readFileSync(`/proc/${w.child.pid}/stat`, 'utf8').split(') ')[1].split(' ')[16])).toBe(10);
      expect(p.api.runtime.audit.forPromotion(id).some((e) => e.action === 'promotion.requeued')).toBe(wiped);
      // the worker says how the run ended, with the time of each step (JSON lines: its standard error is not a terminal)
      const end = w.output
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l))
        .find((l) => l.promotionId === id);
      expect(end.msg).toMatch(new RegExp(`^promotion ${id} done in \\d+\\.\\d\\d s: dev -> qa `));
      expect(Object.keys(end.steps)).toEqual(['verify', 'copy', 'sign', 'publish']);
    } finally {
      await w.stop();
    }
  });

  it('a registry answering 503 fails the promotion with REGISTRY_UNAVAILABLE after backoff; an admin retry completes it', async () => {
    proxy.add({
      method: 'POST',
      path: /\/blobs\/uploads\//,
      fault: { type: 'status', status: 503, headers: { 'retry-after': '0' } },
      times: 1_000_000,
    });
    const w = new WorkerProcess(p.config.path);
    try {
      const { img, id } = await requested('team/flaky', [1000]);
      const failed = await p.waitFor(id, p.tokens.alice, ['completed', 'failed'], 90_000);
      expect([failed.state, failed.error.code]).toEqual(['failed', 'REGISTRY_UNAVAILABLE']);
      expect(w.output).toContain(`"msg":"promotion ${id} failed (REGISTRY_UNAVAILABLE, retried while attempts remain): `);
      proxy.reset();
      const r = await p.call('POST', `/api/v1/promotions/${id}/retry`, p.tokens.root, {});
      expect(r.status).toBe(200);
      const done = await p.waitFor(id, p.tokens.alice, ['completed', 'failed'], 60_000);
      expect(done.state).toBe('completed');
      assertOnce(id, 'team/flaky', img.digest);
    } finally {
      proxy.reset();
      await w.stop();
    }
  });

  it('the API restarted while a promotion runs: nothing is lost, the outcome is recorded', async () => {
    proxy.add({ method: 'GET', path: /\/v2\/team\/restart\//, fault: { type: 'delay', ms: 300 }, times: 50 });
    const w = new WorkerProcess(p.config.path);
    try {
      const { img, id } = await requested('team/restart', [1 << 20]);
      await p.restartApi();
      const done = await p.waitFor(id, p.tokens.alice, ['completed', 'failed'], 60_000);
      expect(done.state).toBe('completed');
      assertOnce(id, 'team/restart', img.digest);
    } finally {
      proxy.reset();
      await w.stop();
    }
  });
});
