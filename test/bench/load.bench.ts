import { Client } from 'undici';
import { join } from 'node:path';
import { verifyStoredChain } from '@airlock/audit';
import { openDatabase } from '@airlock/database';
import { startPipeline } from '../support/pipeline';
import { pushRandomImage } from '../support/images';
import { percentile, table } from './harness';
import { WorkerProcess } from '../support/airlock-process';

const SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 30);
const READERS = Number(process.env.BENCH_LOAD_READERS ?? 100);
const WRITERS = Number(process.env.BENCH_LOAD_WRITERS ?? 20);
const WARMUP = Number(process.env.BENCH_LOAD_WARMUP_SECONDS ?? 5);

/** The API's histogram of answers to `method` over every route, as cumulative counts by upper bound (s). */
function serverBuckets(metrics: string, method: string): Map<number, number> {
  const byLe = new Map<number, number>();
  for (const m of metrics.matchAll(/^airlock_http_request_duration_seconds_bucket\{le="([^"]+)",method="([A-Z]+)",[^}]*\} (\d+)$/gm)) {
    if (m[2] !== method) continue;
    const le = m[1] === '+Inf' ? Infinity : Number(m[1]);
    byLe.set(le, (byLe.get(le) ?? 0) + Number(m[3]));
  }
  return byLe;
}

/** The upper bound (ms) of the bucket that holds quantile `q` of the answers counted in `after` and not in `before`. */
function serverQuantile(after: Map<number, number>, before: Map<number, number>, q: number): number {
  const les = [...after.keys()].sort((a, b) => a - b);
  const count = (le: number) => (after.get(le) ?? 0) - (before.get(le) ?? 0);
  const total = count(Infinity);
  const le = les.find((l) => count(l) >= q * total) ?? Infinity;
  return le * 1000;
}

/**
 * A bounded load run on loopback: 100 clients on the read routes and 20
 * requesting and approving promotions, for a fixed time. Reports p50/p99,
 * errors, and checks afterwards that every accepted request is recorded
 * exactly once and that the audit chain verifies.
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
  // the API and a worker as separate processes (airlock api + airlock worker), as deployed for load
  const worker = new WorkerProcess(
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
    // each client its own connection, one request at a time (as autocannon -c N): a shared pool queued a burst of first requests on the
    // few connections already open, and those waited seconds behind each other (a writer's p99 of 5 s that no server caused)
    const clients = Array.from({ length: READERS + WRITERS }, () => new Client(p.url));
    // the first WARMUP seconds run the same load unmeasured (a freshly started API compiles its hot paths meanwhile); what they took is shown apart
    const from = Date.now() + WARMUP * 1000;
    const end = from + SECONDS * 1000;
    const reads: number[] = [];
    const requests: number[] = [];
    const approvals: number[] = [];
    const cold = { reads: [] as number[], requests: [] as number[] };
    let metricsBefore = '';
    const snapshot = setTimeout(() => {
      fetch(`${p.url}/metrics`)
        .then((r) => r.text())
        .then(
          (t) => (metricsBefore = t),
          () => undefined,
        );
    }, WARMUP * 1000);
    let errors = 0;
    let requested = 0;
    let approved = 0;
    // BENCH_LOAD_READ_PATHS=/health,/api/v1/stages narrows the read mix (to see what one route costs under the same load); {seed} is the seeded promotion
    const readPaths = (process.env.BENCH_LOAD_READ_PATHS ?? '/api/v1/promotions?limit=20,/api/v1/promotions/{seed},/api/v1/stages,/health')
      .split(',')
      .map((s) => s.replace('{seed}', seed));
    const timed = async (client: Client, method: string, path: string, token: string, body?: unknown) => {
      const t0 = process.hrtime.bigint();
      const r = await client.request({
        method: method,
        path,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body ? JSON.stringify(body) : undefined,
      });
      const text = await r.body.text();
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (r.statusCode >= 400) errors++;
      return { ms, status: r.statusCode, text, measured: Date.now() - ms >= from };
    };
    const reader = async (i: number) => {
      for (let n = 0; Date.now() < end; n++) {
        const r = await timed(clients[i], 'GET', readPaths[(i + n) % readPaths.length], p.tokens.dave);
        (r.measured ? reads : cold.reads).push(r.ms);
      }
    };
    const writer = async (c: Client) => {
      while (Date.now() < end) {
        const r = await timed(c, 'POST', '/api/v1/promotions', p.tokens.alice, { image: img.reference, from: 'dev', to: 'qa' });
        (r.measured ? requests : cold.requests).push(r.ms);
        if (r.status !== 201) continue;
        requested++;
        const a = await timed(c, 'POST', `/api/v1/promotions/${JSON.parse(r.text).id}/approve`, p.tokens.bob, {});
        if (a.measured) approvals.push(a.ms);
        if (a.status === 200) approved++;
      }
    };
    await Promise.all([...Array.from({ length: READERS }, (_, i) => reader(i)), ...clients.slice(READERS).map((c) => writer(c))]);
    await Promise.all(clients.map((c) => c.close()));
    clearTimeout(snapshot);
    // the API's own view (airlock_http_request_duration_seconds): the time it spent on each answer, apart from the time the request waited for it
    const metrics = await (await fetch(`${p.url}/metrics`)).text();
    const inApi = (method: string) => {
      const [after, before] = [serverBuckets(metrics, method), serverBuckets(metricsBefore, method)];
      return `<= ${serverQuantile(after, before, 0.5)} / <= ${serverQuantile(after, before, 0.99)}`;
    };
    await api.stop();
    const db = openDatabase(join(p.dir, 'airlock.db'), { readonly: true });
    const count = (action: string) =>
      (db.prepare('SELECT COUNT(*) AS n FROM audit_events WHERE action = ?').get(action) as { n: number }).n;
    const chain = verifyStoredChain(db).report;
    table(
      `load: ${READERS} readers and ${WRITERS} writers, each client its own connection, for ${SECONDS} s after ${WARMUP} s of warm-up, on loopback (airlock api and airlock worker processes, load from a third)`,
      ['measure', 'value', 'goal'],
      [
        ['reads', `${reads.length} (${(reads.length / SECONDS).toFixed(0)}/s)`, ''],
        ['read latency p50 / p99 (ms)', `${percentile(reads, 50).toFixed(1)} / ${percentile(reads, 99).toFixed(1)}`, 'p99 < 100'],
        ['  of which in the API (its histogram) p50 / p99 (ms)', inApi('GET'), ''],
        ['promotion requests + approvals', `${requested} + ${approved}`, ''],
        ['request / approve latency p50 (ms)', `${percentile(requests, 50).toFixed(1)} / ${percentile(approvals, 50).toFixed(1)}`, ''],
        ['request / approve latency p99 (ms)', `${percentile(requests, 99).toFixed(1)} / ${percentile(approvals, 99).toFixed(1)}`, ''],
        ['  of which in the API, both (its histogram) p50 / p99 (ms)', inApi('POST'), ''],
        [
          `warm-up (${WARMUP} s, not counted above): read / request p99 (ms)`,
          `${percentile(cold.reads, 99).toFixed(1)} / ${percentile(cold.requests, 99).toFixed(1)}`,
          '',
        ],
        ['errors', errors, '0'],
        [
          'recorded once: requested / approved events',
          `${count('promotion.requested') - 1} / ${count('promotion.approved')}`,
          `${requested} / ${approved}`,
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
    await worker.stop();
    await p.stop();
  }
}
