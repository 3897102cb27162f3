import { Pool } from 'undici';
import { join } from 'node:path';
import { openDatabase, verifyStoredChain } from '@airlock/audit';
import { startPipeline } from '../support/pipeline';
import { pushRandomImage } from '../support/images';
import { percentile, table } from './harness';
import { WorkerProcess } from '../support/airlock-process';

const SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 30);
const READERS = Number(process.env.BENCH_LOAD_READERS ?? 100);
const WRITERS = Number(process.env.BENCH_LOAD_WRITERS ?? 20);

/** The upper bound (ms) of the histogram bucket that holds quantile `q` of the API's answers to `method`, over every route. */
function serverQuantile(metrics: string, method: string, q: number): number {
  const byLe = new Map<number, number>();
  for (const m of metrics.matchAll(/^airlock_http_request_duration_seconds_bucket\{le="([^"]+)",method="([A-Z]+)",[^}]*\} (\d+)$/gm)) {
    if (m[2] !== method) continue;
    const le = m[1] === '+Inf' ? Infinity : Number(m[1]);
    byLe.set(le, (byLe.get(le) ?? 0) + Number(m[3]));
  }
  const les = [...byLe.keys()].sort((a, b) => a - b);
  const total = byLe.get(Infinity) ?? 0;
  const le = les.find((l) => (byLe.get(l) as number) >= q * total) ?? Infinity;
  return le * 1000;
}

/**
 * A bounded load run on loopback: 100 clients on the read routes and 20
 * requesting and approving promotions, for a fixed time. Reports p50/p99,
 * errors, and checks afterwards that every accepted request is recorded
 * exactly once and that the audit chain verifies.
 */
export async function loadBench(): Promise<void> {
  const p = await startPipeline([{ name: 'dev' }, { name: 'qa', from: [{ stage: 'dev', mapping: [{ from: '{dev}/team/*', to: '{qa}/team/*' }] }], approvals: { required: 1 } }], {
    extra: () => ({ server: { rateLimitPerMinute: 1_000_000 } }),
    worker: false,
  });
  // the API and a worker as separate processes (airlock api + airlock worker), as deployed for load
  const worker = new WorkerProcess(p.config.path, {}, process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : []);
  try {
    const dev = p.registries.dev;
    const img = await pushRandomImage({ url: dev.url, host: dev.host }, 'team/load', '1', { layers: [4096] });
    await p.signInStage('dev', 'team/load', img.digest, img.reference);
    const seed = (await p.call('POST', '/api/v1/promotions', p.tokens.alice, { image: img.reference, from: 'dev', to: 'qa' })).body.id;
    // the load generator must not share an event loop with the server it measures
    const api = await p.apiAsProcess();
    const pool = new Pool(p.url, { connections: READERS + WRITERS });
    const end = Date.now() + SECONDS * 1000;
    const reads: number[] = [];
    const requests: number[] = [];
    const approvals: number[] = [];
    let errors = 0;
    let requested = 0;
    let approved = 0;
    const readPaths = ['/api/v1/promotions?limit=20', `/api/v1/promotions/${seed}`, '/api/v1/stages', '/health'];
    const timed = async (method: string, path: string, token: string, body?: unknown) => {
      const t0 = process.hrtime.bigint();
      const r = await pool.request({ method: method as never, path, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
      const text = await r.body.text();
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (r.statusCode >= 400) errors++;
      return { ms, status: r.statusCode, text };
    };
    const reader = async (i: number) => {
      for (let n = 0; Date.now() < end; n++) reads.push((await timed('GET', readPaths[(i + n) % readPaths.length], p.tokens.dave)).ms);
    };
    const writer = async () => {
      while (Date.now() < end) {
        const r = await timed('POST', '/api/v1/promotions', p.tokens.alice, { image: img.reference, from: 'dev', to: 'qa' });
        requests.push(r.ms);
        if (r.status !== 201) continue;
        requested++;
        const a = await timed('POST', `/api/v1/promotions/${JSON.parse(r.text).id}/approve`, p.tokens.bob, {});
        approvals.push(a.ms);
        if (a.status === 200) approved++;
      }
    };
    await Promise.all([...Array.from({ length: READERS }, (_, i) => reader(i)), ...Array.from({ length: WRITERS }, () => writer())]);
    await pool.close();
    // the API's own view (airlock_http_request_duration_seconds): the time it spent on each read, apart from the time the read waited for it
    const metrics = await (await fetch(`${p.url}/metrics`)).text();
    await api.stop();
    const db = openDatabase(join(p.dir, 'airlock.db'), { readonly: true });
    const count = (action: string) => (db.prepare('SELECT COUNT(*) AS n FROM audit_events WHERE action = ?').get(action) as { n: number }).n;
    const chain = verifyStoredChain(db).report;
    table(`load: ${READERS} readers and ${WRITERS} writers for ${SECONDS} s on loopback (airlock api and airlock worker processes, load from a third)`, ['measure', 'value', 'goal'], [
      ['reads', `${reads.length} (${(reads.length / SECONDS).toFixed(0)}/s)`, ''],
      ['read latency p50 / p99 (ms)', `${percentile(reads, 50).toFixed(1)} / ${percentile(reads, 99).toFixed(1)}`, 'p99 < 100'],
      ['  of which in the API (its histogram) p50 / p99 (ms)', `<= ${serverQuantile(metrics, 'GET', 0.5)} / <= ${serverQuantile(metrics, 'GET', 0.99)}`, ''],
      ['promotion requests + approvals', `${requested} + ${approved}`, ''],
      ['request / approve latency p50 (ms)', `${percentile(requests, 50).toFixed(1)} / ${percentile(approvals, 50).toFixed(1)}`, ''],
      ['request / approve latency p99 (ms)', `${percentile(requests, 99).toFixed(1)} / ${percentile(approvals, 99).toFixed(1)}`, ''],
      ['errors', errors, '0'],
      ['recorded once: requested / approved events', `${count('promotion.requested') - 1} / ${count('promotion.approved')}`, `${requested} / ${approved}`],
      ['audit chain afterwards', chain.ok ? `verifies (${chain.size} events)` : `BROKEN at ${(chain as { firstBadSeq: number }).firstBadSeq}`, 'verifies'],
    ]);
    db.close();
  } finally {
    await worker.stop();
    await p.stop();
  }
}
