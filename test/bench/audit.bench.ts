import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditInput, AuditLog, exportEvents, queryEvents, verifyStoredChain } from '@airlock/audit';
import { migrate, openDatabase } from '@airlock/database';
import { percentile, table, timeIt } from './harness';

const N = Number(process.env.BENCH_AUDIT_EVENTS ?? 1_000_000);
const BATCH = 1000;

/** Appends N events in batches, then times filtered queries, full-chain verification and export. */
export async function auditBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-audit-bench-'));
  try {
    const db = openDatabase(join(dir, 'audit.db'));
    migrate(db);
    const log = new AuditLog(db);
    const digests = Array.from({ length: 5000 }, (_, i) => 'sha256:' + i.toString(16).padStart(64, '0'));
    const actors = Array.from({ length: 200 }, (_, i) => `user${i}`);
    const start = Date.parse('2026-01-01T00:00:00Z');
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
      }
    });
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
      verified = verifyStoredChain(db).report.size;
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
        ['appends per second (batches of 1000)', Math.round(N / appendS), '>= 20,000'],
        ['query by digest p50 / p95 (ms)', `${percentile(byDigest, 50).toFixed(2)} / ${percentile(byDigest, 95).toFixed(2)}`, 'p95 < 20'],
        ['query by actor p50 / p95 (ms)', `${percentile(byActor, 50).toFixed(2)} / ${percentile(byActor, 95).toFixed(2)}`, 'p95 < 20'],
        ['query by time range p50 / p95 (ms)', `${percentile(byTime, 50).toFixed(2)} / ${percentile(byTime, 95).toFixed(2)}`, 'p95 < 20'],
        ['full-chain verification (s)', `${verifyS.toFixed(2)} (${verified.toLocaleString()} events)`, '< 5'],
        ['export JSON lines (MB/s)', (bytes / 1e6 / exportS).toFixed(0), '> 100'],
        ['database size (MB)', (size / 1e6).toFixed(0), ''],
      ],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
