import { Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { statement } from '@airlock/database';
import { withTimeout } from '@airlock/common';
import { ApiRuntime } from '../api-runtime';

/**
 * Prometheus metrics, read from the system of record at scrape time (so they
 * are right after a restart): promotions by state and stage, failures by
 * code, bytes copied, step durations, queue depth, bundle sizes, audit chain
 * length.
 */
export function buildMetrics(rt: ApiRuntime): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'airlock_process_' });
  const db = rt.db;
  /** A gauge whose series are the rows of one query: every column but `n` is a label, `n` the value. */
  const rowsGauge = (name: string, help: string, labelNames: string[], sql: string) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const { n, ...labels } of statement(db, sql).all() as { n: number; [label: string]: string | number | null }[]) this.set(Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, String(v ?? 'unknown')])), n);
      },
    });
  rowsGauge('airlock_promotions', 'Promotions by state and target stage', ['state', 'stage'], 'SELECT state, to_stage AS stage, COUNT(*) AS n FROM promotions GROUP BY state, to_stage');
  rowsGauge('airlock_promotion_failures', 'Failed promotions by error code', ['code'], "SELECT error_code AS code, COUNT(*) AS n FROM promotions WHERE state = 'failed' GROUP BY error_code");
  new Gauge({
    name: 'airlock_bytes_copied',
    help: 'Bytes moved between registries by completed promotions',
    registers: [registry],
    collect() {
      this.set((statement(db, "SELECT COALESCE(SUM(bytes_done), 0) AS n FROM promotions WHERE state = 'completed'").get() as { n: number }).n);
    },
  });
  let lastStep = '';
  new Histogram({
    name: 'airlock_step_duration_seconds',
    help: 'Duration of promotion steps',
    labelNames: ['step'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
    collect() {
      // fold in the steps finished since the last scrape
      const rows = statement(db, "SELECT promotion_id || '.' || attempt || '.' || name AS k, name, started_at, finished_at FROM steps WHERE finished_at IS NOT NULL AND (promotion_id || '.' || attempt || '.' || name) > ? ORDER BY k").all(lastStep) as { k: string; name: string; started_at: string; finished_at: string }[];
      for (const r of rows) {
        this.observe({ step: r.name }, Math.max(0, (Date.parse(r.finished_at) - Date.parse(r.started_at)) / 1000));
        lastStep = r.k;
      }
    },
  });
  new Gauge({
    name: 'airlock_queue_jobs',
    help: 'Jobs in the promotions queue by state',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      this.reset();
      try {
        const c = await withTimeout(rt.queue.counts(), 1000);
        for (const [k, v] of Object.entries(c)) this.set({ state: k }, v);
      } catch {
        /* Redis away: no queue figures this scrape */
      }
    },
  });
  rowsGauge('airlock_bundle_bytes', 'Size of the last bundle per channel and direction', ['channel', 'direction'], 'SELECT channel, direction, bytes AS n FROM bundles b WHERE sequence = (SELECT MAX(sequence) FROM bundles c WHERE c.channel = b.channel AND c.direction = b.direction)');
  new Gauge({
    name: 'airlock_audit_events',
    help: 'Length of the audit chain',
    registers: [registry],
    collect() {
      this.set(rt.audit.headInfo().size);
    },
  });
  return registry;
}
