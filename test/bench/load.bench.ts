import { Client, Pool } from 'undici';
import { join } from 'node:path';
import { verifyStoredChain } from '@airlock/audit';
import { openDatabase } from '@airlock/database';
import { startPipeline } from '../support/pipeline';
import { pushRandomImage } from '../support/images';
import { percentile, table } from './harness';
import { WorkerProcess } from '../support/airlock-process';
import { apiQuantiles } from './load-metrics';
import { CpuShares } from './cpu-shares';

const SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 30);
const READERS = Number(process.env.BENCH_LOAD_READERS ?? 100);
const WRITERS = Number(process.env.BENCH_LOAD_WRITERS ?? 20);
const WARMUP = Number(process.env.BENCH_LOAD_WARMUP_SECONDS ?? 5);
const RATE = Number(process.env.BENCH_LOAD_RATE ?? 600);

/** What one phase of load saw, from the client's side. */
interface Seen {
  reads: number[];
  requests: number[];
  approvals: number[];
  errors: number;
  requested: number;
  approved: number;
}

const seen = (): Seen => ({ reads: [], requests: [], approvals: [], errors: 0, requested: 0, approved: 0 });
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const p50p99 = (xs: number[]) => `${percentile(xs, 50).toFixed(1)} / ${percentile(xs, 99).toFixed(1)}`;

/**
 * Load on loopback against an `airlock api` process with an `airlock worker`
 * beside it, from this third process, in two phases on the same server:
 * - closed loop: 100 readers and 20 writers, each its own connection, each
 *   waiting for its answer before asking again (throughput at saturation;
 *   latency as seen by clients that slow down with the server);
 * - open loop: reads started on a fixed schedule (600/s) whether or not the
 *   earlier ones finished, as real users arrive, each timed from when it was
 *   due (no coordinated omission), with the same 20 writers beside them.
 * Each phase prints the client's latencies beside the API's own histogram.
 * Afterwards: every accepted request recorded exactly once, and the audit
 * chain verifies.
 */
export async function loadBench(): Promise<void> {
  const p = await startPipeline(
    [
      { name: 'dev' },
      { name: 'qa', from: [{ stage: 'dev', mapping: [{ from: '{dev}/team/*', to: '{qa}/team/*' }] }], approvals: { required: 1 } },
    ],
    {
      extra: () => ({ server: { rateLimitPerMinute: 1_000_000 } }),
      worker: false,
    },
  );
  // BENCH_LOAD_WORKER=0 leaves promotions queued (no worker, no copies): what the API alone does under the same requests
  const worker =
    process.env.BENCH_LOAD_WORKER === '0'
      ? undefined
      : new WorkerProcess(
          p.config.path,
          {},
          process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : [],
        );
  try {
    const dev = p.registries.dev;
    const img = await pushRandomImage({ url: dev.url, host: dev.host }, 'team/load', '1', { layers: [4096] });
    await p.signInStage('dev', 'team/load', img.digest, img.reference);
    const seed = (await p.call('POST', '/api/v1/promotions', p.tokens.alice, { image: img.reference, from: 'dev', to: 'qa' })).body.id;
    // the load generator must not share an event loop with the server it measures
    const api = await p.apiAsProcess();
    // BENCH_LOAD_READ_PATHS=/health,/api/v1/stages narrows the read mix (to see what one route costs under the same load); {seed} is the seeded promotion
    const readPaths = (process.env.BENCH_LOAD_READ_PATHS ?? '/api/v1/promotions?limit=20,/api/v1/promotions/{seed},/api/v1/stages,/health')
      .split(',')
      .map((s) => s.replace('{seed}', seed));
    const send = async (to: Client | Pool, s: Seen, method: string, path: string, token: string, body?: unknown) => {
      const r = await to.request({
        method,
        path,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body ? JSON.stringify(body) : undefined,
      });
      const text = await r.body.text();
      if (r.statusCode >= 400) s.errors++;
      return { status: r.statusCode, text };
    };
    /** 20 writers, each its own connection, requesting and approving promotions in turn until `end`; counted into `s` from `from`, into `before` until then. */
    const writers = (s: Seen, from: number, end: number, before: Seen = s) =>
      Array.from({ length: WRITERS }, async () => {
        const c = new Client(p.url);
        while (Date.now() < end) {
          const t0 = process.hrtime.bigint();
          const into = Date.now() >= from ? s : before;
          const r = await send(c, into, 'POST', '/api/v1/promotions', p.tokens.alice, { image: img.reference, from: 'dev', to: 'qa' });
          into.requests.push(ms(t0));
          if (r.status !== 201) continue;
          into.requested++;
          const t1 = process.hrtime.bigint();
          const a = await send(c, into, 'POST', `/api/v1/promotions/${JSON.parse(r.text).id}/approve`, p.tokens.bob, {});
          into.approvals.push(ms(t1));
          if (a.status === 200) into.approved++;
        }
        await c.close();
      });
    const metricsNow = async () => (await fetch(`${p.url}/metrics`)).text();
    const pids = (xs: (number | undefined)[]) => xs.filter((x): x is number => x !== undefined);
    const shares = new CpuShares({
      'airlock api': pids([api.child.pid]),
      'airlock worker (nice)': pids([worker?.child.pid]),
      'docker-registry (2)': pids(Object.values(p.registries).map((r) => r.pid)),
      'redis-server': pids([p.redis.process.child.pid]),
      'load generator (this process)': [process.pid],
    });
    const sharesTable = (phase: string, rows: string[][]) =>
      table(
        `load, ${phase}: who had the CPUs (Linux schedstat; a main thread waiting runnable answers late whatever its own code costs)`,
        ['process', 'CPU, all threads (% of one core)', 'main thread on a CPU', 'main thread waiting for a CPU'],
        rows,
      );

    // closed loop: the first WARMUP seconds run the same load unmeasured (a freshly started API compiles its hot paths meanwhile)
    const closed = seen();
    const cold = seen();
    const closedFrom = Date.now() + WARMUP * 1000;
    const closedEnd = closedFrom + SECONDS * 1000;
    let closedBefore = '';
    const snapshot = setTimeout(() => {
      shares.begin();
      void metricsNow().then(
        (t) => (closedBefore = t),
        () => undefined,
      );
    }, WARMUP * 1000);
    const readers = Array.from({ length: READERS }, async (_, i) => {
      const c = new Client(p.url);
      for (let n = 0; Date.now() < closedEnd; n++) {
        const t0 = process.hrtime.bigint();
        const measured = Date.now() >= closedFrom;
        await send(c, measured ? closed : cold, 'GET', readPaths[(i + n) % readPaths.length], p.tokens.dave);
        (measured ? closed : cold).reads.push(ms(t0));
      }
      await c.close();
    });
    await Promise.all([...readers, ...writers(closed, closedFrom, closedEnd, cold)]);
    clearTimeout(snapshot);
    const closedAfter = await metricsNow();
    const closedShares = shares.rows(SECONDS);
    shares.begin();

    // open loop: each read is due at its slot on a fixed schedule and timed from then, however late it could start
    const open = seen();
    const pool = new Pool(p.url, { connections: 512 });
    const openFrom = Date.now();
    const openEnd = openFrom + SECONDS * 1000;
    const inFlight: Promise<void>[] = [];
    let due = 0;
    let late = 0;
    const openWriters = writers(open, openFrom, openEnd);
    const t0 = process.hrtime.bigint();
    await new Promise<void>((done) => {
      const tick = setInterval(() => {
        const now = ms(t0);
        if (now >= SECONDS * 1000) {
          clearInterval(tick);
          done();
          return;
        }
        // every read due by now starts now; its time counts from when it was due
        for (; (due * 1000) / RATE <= now; due++) {
          const dueAt = t0 + BigInt(Math.round((due * 1e9) / RATE));
          if (now - (due * 1000) / RATE > 5) late++;
          const path = readPaths[due % readPaths.length];
          inFlight.push(send(pool, open, 'GET', path, p.tokens.dave).then(() => void open.reads.push(ms(dueAt))));
        }
      }, 1);
    });
    await Promise.all([...inFlight, ...openWriters]);
    await pool.close();
    const openAfter = await metricsNow();
    const openShares = shares.rows(SECONDS);
    await api.stop();

    const db = openDatabase(join(p.dir, 'airlock.db'), { readonly: true });
    const count = (action: string) =>
      (db.prepare('SELECT COUNT(*) AS n FROM audit_events WHERE action = ?').get(action) as { n: number }).n;
    const chain = verifyStoredChain(db).report;
    const writes = (s: Seen) => [
      ['promotion requests + approvals', `${s.requested} + ${s.approved}`, ''],
      ['request / approve latency p50 (ms)', `${percentile(s.requests, 50).toFixed(1)} / ${percentile(s.approvals, 50).toFixed(1)}`, ''],
      ['request / approve latency p99 (ms)', `${percentile(s.requests, 99).toFixed(1)} / ${percentile(s.approvals, 99).toFixed(1)}`, ''],
    ];
    table(
      `load, closed loop: ${READERS} readers and ${WRITERS} writers, each client its own connection waiting for its answer, for ${SECONDS} s after ${WARMUP} s of warm-up, on loopback (airlock api and airlock worker processes, load from a third)`,
      ['measure', 'value', 'goal'],
      [
        ['reads', `${closed.reads.length} (${(closed.reads.length / SECONDS).toFixed(0)}/s)`, '>= 2x 757-1,027/s'],
        ['read latency p50 / p99 (ms)', p50p99(closed.reads), 'p99 < 100'],
        ['  of which in the API (its histogram) p50 / p99 (ms)', apiQuantiles(closedAfter, closedBefore, 'GET'), ''],
        ...writes(closed),
        ['  of which in the API, both (its histogram) p50 / p99 (ms)', apiQuantiles(closedAfter, closedBefore, 'POST'), ''],
        [
          `warm-up (${WARMUP} s, not counted above): read / request p99 (ms)`,
          `${percentile(cold.reads, 99).toFixed(1)} / ${percentile(cold.requests, 99).toFixed(1)}`,
          '',
        ],
        ['errors', closed.errors + cold.errors, '0'],
      ],
    );
    table(
      `load, open loop: reads due at ${RATE}/s on a fixed schedule, each timed from when it was due, with the same ${WRITERS} writers, for ${SECONDS} s`,
      ['measure', 'value', 'goal'],
      [
        ['reads due / answered', `${due} / ${open.reads.length} (${(open.reads.length / SECONDS).toFixed(0)}/s)`, ''],
        ['read latency from when due p50 / p99 / max (ms)', `${p50p99(open.reads)} / ${Math.max(...open.reads).toFixed(1)}`, 'p99 < 50'],
        ['  of which in the API (its histogram) p50 / p99 (ms)', apiQuantiles(openAfter, closedAfter, 'GET'), ''],
        ['reads the generator started more than 5 ms late', late, '0'],
        ...writes(open),
        ['  of which in the API, both (its histogram) p50 / p99 (ms)', apiQuantiles(openAfter, closedAfter, 'POST'), ''],
        ['errors', open.errors, '0'],
      ],
    );
    sharesTable('closed loop', closedShares);
    sharesTable('open loop', openShares);
    const all = [closed, cold, open];
    const sum = (f: (s: Seen) => number) => all.reduce((n, s) => n + f(s), 0);
    table(
      'load: afterwards',
      ['measure', 'value', 'goal'],
      [
        [
          'recorded once: requested / approved events',
          `${count('promotion.requested') - 1} / ${count('promotion.approved')}`,
          `${sum((s) => s.requested)} / ${sum((s) => s.approved)}`,
        ],
        [
          'audit chain afterwards',
          chain.ok ? `verifies (${chain.size} events)` : `BROKEN at ${(chain as { firstBadSeq: number }).firstBadSeq}`,
          'verifies',
        ],
      ],
    );
    db.close();
  } finally {
    await worker?.stop();
    await p.stop();
  }
}
