import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { AuditInput, AuditLog, exportEvents, queryEvents, verifyStoredChain, verifyStoredChainInParallel } from '@airlock/audit';
import { migrate, openDatabase } from '@airlock/database';
import { percentile, table, timeIt } from './harness';

const N = Number(process.env.BENCH_AUDIT_EVENTS ?? 1_000_000);
/** Events per commit: a bulk load (an import's history), as the group commit batches whatever is queued. */
const BATCH = Number(process.env.BENCH_AUDIT_BATCH ?? 50_000);

/** The auditor's thread (audit-query-thread.ts), started with the benchmark's module aliases. */
function auditorThread(data: object): Worker {
  const aliases = resolve('scripts/register-aliases.js');
  const program = resolve(__dirname, 'audit-query-thread.js');
  return new Worker(
    `require(${JSON.stringify(aliases)})(${JSON.stringify(resolve(__dirname, '../..'))}); require(${JSON.stringify(program)});`,
    {
      eval: true,
      workerData: data,
    },
  );
}

const p50p95 = (xs: number[]) => `${percentile(xs, 50).toFixed(2)} / ${percentile(xs, 95).toFixed(2)} (${xs.length})`;

/** Appends N events in batches with an auditor querying beside them, then times filtered queries, full-chain verification and export. */
export async function auditBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-audit-bench-'));
  try {
    const db = openDatabase(join(dir, 'audit.db'));
    migrate(db);
    const log = new AuditLog(db);
    const digests = Array.from({ length: 5000 }, (_, i) => 'sha256:' + i.toString(16).padStart(64, '0'));
    const actors = Array.from({ length: 200 }, (_, i) => `user${i}`);
    const start = Date.parse('2026-01-01T00:00:00Z');
    const auditor = auditorThread({ path: join(dir, 'audit.db'), digests, actors, start, everyMs: 20 });
    const whileAppending = new Promise<Record<'digest' | 'actor' | 'time', number[]>>((res, rej) => {
      auditor.on('message', (m: unknown) => m !== 'ready' && res(m as Record<'digest' | 'actor' | 'time', number[]>));
      auditor.once('error', rej);
    });
    await new Promise((r) => auditor.once('message', r));
    const appendS = await timeIt(async () => {
      for (let b = 0; b < N; b += BATCH) {
        const batch: AuditInput[] = [];
        for (let i = b; i < Math.min(N, b + BATCH); i++) {
          batch.push({
            actor: actors[i % actors.length],
            role: 'approver',
            action: i % 7 ? 'promotion.state' : 'promotion.approved',
            stage: 'qa',
            image: `qa.example/team/app${i % 300}:1`,
            digest: digests[i % digests.length],
            details: { i, to: 'copying' },
            time: new Date(start + i * 1000),
          });
        }
        log.appendMany(batch);
        // the auditor's timer runs on its own thread; this one yields a turn between batches, as the API's group commit does
        await new Promise((r) => setImmediate(r));
      }
    });
    auditor.postMessage('stop');
    const during = await whileAppending;
    await auditor.terminate();
    // the auditor's snapshots kept the log from being checkpointed while it read: fold it back, as the API's next commit would
    const checkpointS = await timeIt(async () => void db.pragma('wal_checkpoint(TRUNCATE)'));
    const q = (f: () => unknown) => {
      const t: number[] = [];
      for (let i = 0; i < 200; i++) {
        const t0 = process.hrtime.bigint();
        f();
        t.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      return t;
    };
    let k = 0;
    const byDigest = q(() => queryEvents(db, { digest: digests[k++ % digests.length] }, { limit: 100 }));
    const byActor = q(() => queryEvents(db, { actor: actors[k++ % actors.length] }, { limit: 100 }));
    const byTime = q(() => {
      const s = start + (k++ % 900_000) * 1000;
      return queryEvents(db, { since: new Date(s).toISOString(), until: new Date(s + 3600_000).toISOString() }, { limit: 100 });
    });
    let verified = 0;
    const verifyS = await timeIt(async () => {
      verified = (await verifyStoredChainInParallel(db)).report.size;
    });
    const verifyOneS = await timeIt(async () => {
      if (verifyStoredChain(db).report.size !== verified) throw new Error('one thread and many disagree');
    });
    let bytes = 0;
    const exportS = await timeIt(async () => {
      for await (const chunk of exportEvents(db, {}, 'jsonl', 5000)) bytes += Buffer.byteLength(chunk);
    });
    db.close();
    const size = statSync(join(dir, 'audit.db')).size + (statSync(join(dir, 'audit.db-wal'), { throwIfNoEntry: false })?.size ?? 0);
    table(
      `audit: ${N.toLocaleString()} events`,
      ['measure', 'value', 'goal'],
      [
        [`appends per second (batches of ${BATCH.toLocaleString()})`, Math.round(N / appendS), '>= 25,000'],
        ['while appending: query by digest p50 / p95 (ms) (queries)', p50p95(during.digest), 'p95 < 20'],
        ['while appending: query by actor p50 / p95 (ms) (queries)', p50p95(during.actor), 'p95 < 20'],
        ['while appending: query by time range p50 / p95 (ms) (queries)', p50p95(during.time), 'p95 < 20'],
        [
          'afterwards: query by digest p50 / p95 (ms)',
          `${percentile(byDigest, 50).toFixed(2)} / ${percentile(byDigest, 95).toFixed(2)}`,
          'p95 < 20',
        ],
        [
          'afterwards: query by actor p50 / p95 (ms)',
          `${percentile(byActor, 50).toFixed(2)} / ${percentile(byActor, 95).toFixed(2)}`,
          'p95 < 20',
        ],
        [
          'afterwards: query by time range p50 / p95 (ms)',
          `${percentile(byTime, 50).toFixed(2)} / ${percentile(byTime, 95).toFixed(2)}`,
          'p95 < 20',
        ],
        [
          `full-chain verification on ${availableParallelism()} threads (s)`,
          `${verifyS.toFixed(2)} (${verified.toLocaleString()} events)`,
          '< 3',
        ],
        ['  the same on one thread (s)', verifyOneS.toFixed(2), ''],
        ['checkpoint of the log after the appends (s)', checkpointS.toFixed(2), ''],
        ['export JSON lines (MB/s)', (bytes / 1e6 / exportS).toFixed(0), '> 100'],
        ['database size (MB)', (size / 1e6).toFixed(0), ''],
      ],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
