import type { QueueEvents } from 'bullmq';
import type IORedis from 'ioredis';
import { LoadedConfig, redisSettings } from '@airlock/common/config';
import { AuditKeys } from './audit/audit-keys';
import { AirlockCore, PromotionProgress, TokenService, openCore } from '@airlock/promotion';
import { withTimeout } from '@airlock/common';
import { BullPromotionQueue, JobRetryOptions, listenToQueue, producerConnection, workerConnection } from '@airlock/promotion/bullmq';

/** Everything the API process holds: the core (openCore), the queue and its listener, tokens and audit keys; built once at boot, closed on shutdown. */
export interface ApiRuntime extends AirlockCore {
  tokens: TokenService;
  queue: BullPromotionQueue;
  progress: PromotionProgress;
  auditKeys: AuditKeys;
}

export interface RuntimeOptions {
  reconcileEveryMs?: number;
  jobRetry?: JobRetryOptions;
}

/**
 * Connects the queue, opens the core (stages, database with migrations,
 * use cases: openCore), starts listening to workers' reports, records the boot in the audit
 * log (config hash, key fingerprints), and reconciles pending work.
 */
export async function buildRuntime(loaded: LoadedConfig, opts: RuntimeOptions = {}): Promise<ApiRuntime> {
  const redis = redisSettings(loaded.config);
  const producer: IORedis = producerConnection(redis.url);
  producer.on('error', () => undefined);
  const queue = new BullPromotionQueue(producer, opts.jobRetry, redis.prefix);
  let core: AirlockCore;
  try {
    core = await openCore(loaded, queue);
  } catch (e) {
    // a configuration that cannot start (a key missing, the database unwritable) leaves no connection behind
    await queue.close().catch(() => undefined);
    producer.disconnect();
    throw e;
  }
  const { catalog, db, audit, service } = core;
  audit.append({ actor: 'airlock', role: 'system', action: 'config.loaded', details: { path: loaded.path, sha256: loaded.sha256 } });
  for (const s of catalog.list()) {
    if (s.publicKeyFingerprint)
      audit.append({
        actor: 'airlock',
        role: 'system',
        action: 'key.loaded',
        stage: s.name,
        details: { fingerprint: s.publicKeyFingerprint },
      });
  }
  const tokens = new TokenService(db, audit);
  const progress = new PromotionProgress(db, audit, service, queue);
  const listenerConn = workerConnection(redis.url);
  listenerConn.on('error', () => undefined);
  let events: QueueEvents | undefined;
  // a report that cannot be recorded is recorded later by the reconciler from the job's final state
  const reports = core.commits;
  const listen = async () => {
    events = await listenToQueue(listenerConn, queue.queue, {
      progress: (id, a, p) => reports.run(() => progress.onProgress(id, a, p)),
      completed: (id, a, r) => reports.run(() => progress.onCompleted(id, a, r)),
      failed: (id, a, c, m) => reports.run(() => progress.onFailed(id, a, c, m)),
      exportProgress: (id, p) => reports.run(() => core.exporter.progress(id, p)),
      exportCompleted: (id, w) => reports.run(() => void core.exporter.record(id, w)),
      exportFailed: (id, c, m) => reports.run(() => core.exporter.fail(id, c, m)),
    });
  };
  // wait at most 3 s for Redis (without it the API still answers; the reconciler catches up); the timer must not outlive the wait,
  // or it holds a process that is done (an API closed within 3 s of its start kept its test run 3 s longer)
  let waited: NodeJS.Timeout | undefined;
  await Promise.race([listen(), new Promise((r) => (waited = setTimeout(r, 3000)))]);
  clearTimeout(waited);
  let reconciling = false;
  const reconcile = async () => {
    if (reconciling) return;
    reconciling = true;
    try {
      await progress.reconcile();
      await core.exporter.reconcile();
    } catch {
      /* Redis away: next round */
    } finally {
      reconciling = false;
    }
  };
  await reconcile();
  const timer = setInterval(() => void reconcile(), opts.reconcileEveryMs ?? 5000);
  timer.unref();
  const auditKeys = new AuditKeys(catalog, audit);
  const every = loaded.config.audit.checkpointIntervalSeconds;
  const cpTimer = every > 0 ? setInterval(() => void auditKeys.checkpoint().catch(() => undefined), every * 1000) : undefined;
  cpTimer?.unref();
  return {
    ...core,
    tokens,
    queue,
    progress,
    auditKeys,
    async close() {
      clearInterval(timer);
      if (cpTimer) clearInterval(cpTimer);
      // bounded: with Redis gone, QueueEvents.close waits for it forever (a stopped sandbox hung on SIGTERM); the disconnects below end it
      await withTimeout(events?.close() ?? Promise.resolve(), 3000).catch(() => undefined);
      reports.flush();
      await withTimeout(queue.close(), 3000).catch(() => undefined);
      listenerConn.disconnect();
      producer.disconnect();
      await core.close();
    },
  };
}
