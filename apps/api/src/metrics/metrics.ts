import { Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { PromotionStore } from '@airlock/promotion';
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
  const promotions = new PromotionStore(rt.db);
  /** A gauge whose series are rows: every field but `n` is a label, `n` the value. */
  const rowsGauge = (
    name: string,
    help: string,
    labelNames: string[],
    rows: () => { n: number; [label: string]: string | number | null }[],
  ) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const { n, ...labels } of rows())
          this.set(Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, String(v ?? 'unknown')])), n);
      },
    });
  rowsGauge('airlock_promotions', 'Promotions by state and target stage', ['state', 'stage'], () => promotions.countsByStateAndStage());
  rowsGauge('airlock_promotion_failures', 'Failed promotions by error code', ['code'], () => promotions.failuresByCode());
  new Gauge({
    name: 'airlock_bytes_copied',
    help: 'Bytes moved between registries by completed promotions',
    registers: [registry],
    collect() {
      this.set(promotions.bytesCopied());
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
      for (const r of promotions.stepsFinishedAfter(lastStep)) {
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
  rowsGauge('airlock_bundle_bytes', 'Size of the last bundle per channel and direction', ['channel', 'direction'], () =>
    rt.bundles.lastSizes(),
  );
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
