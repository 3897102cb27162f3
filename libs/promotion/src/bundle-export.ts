import { randomUUID } from 'node:crypto';
import { AirlockError, isAirlockError, markAudited } from '@airlock/common';
import { AuditLog } from '@airlock/audit';
import { Db } from '@airlock/database';
import { Registries } from '@airlock/oci';
import { StageCatalog } from './stage-catalog';
import { channelOf } from './channels';
import { releaseField } from './release-members';
import { BundleStore } from './bundle-store';
import { BundleJobStore, BundleJobView, abandoned, localRunner } from './bundle-job-store';
import { nextState } from './promotion-lifecycle';
import { PromotionStore, PromotionRow } from './promotion-store';
import { PromotionService, Ctx } from './promotion.service';
import { PromotionQueue } from './promotion-queue';
import { ExportJob, ExportProgress, ExportWritten } from './queues';
import { rewriteExportVolumes, writeExport } from './export-write';

/** What an export wrote. */
export interface ExportResult {
  bundleId: string;
  channel: string;
  sequence: number;
  dir: string;
  volumes: { name: string; size: number; sha256?: string }[];
  indexFile: string;
  images: number;
  /** Of the images, those an earlier bundle carried that no receipt confirmed. */
  resent: number;
  bytes: number;
  blobsLeftOut: number;
}

/** What an export may be asked for besides its channel. */
export interface ExportOptions {
  /** Carry every blob, even those receipts say the far side has. */
  full?: boolean;
  /** Send again exported promotions no receipt confirmed: every one (true) or those named. */
  resend?: boolean | string[];
}

const SYSTEM = { principal: { user: 'airlock', roles: ['admin' as const] } };

/**
 * Bundle exports, as jobs. `plan` claims the channel (one export per channel
 * at a time, across processes: the loser is BUNDLE_EXPORT_BUSY and writes
 * nothing), fixes the bundle's id and sequence and what it carries, and
 * records the job. The bundle is written by `writeExport` (no database):
 * in a worker for an export the API started (`start`, progress in bytes
 * through the queue), or in this process for the CLI (`export`). `record`
 * then records the bundle, moves its promotions to exported and audits it,
 * once whatever delivers the report twice; `fail` ends a job that failed.
 */
export class BundleExporter {
  private readonly store: PromotionStore;
  private readonly bundles: BundleStore;
  readonly jobs: BundleJobStore;

  constructor(
    private readonly db: Db,
    private readonly audit: AuditLog,
    private readonly catalog: StageCatalog,
    private readonly registries: Registries,
    private readonly service: PromotionService,
    private readonly queue?: PromotionQueue,
  ) {
    this.store = new PromotionStore(db);
    this.bundles = new BundleStore(db);
    this.jobs = new BundleJobStore(db);
  }

  /** Exports in this process (the CLI, the demo): plan, write, record. */
  async export(
    ctx: Ctx,
    channelName: string,
    o: ExportOptions & { outDir?: string; onProgress?: (done: number, total: number) => void } = {},
  ): Promise<ExportResult> {
    const job = this.audited(ctx, channelName, () => this.plan(ctx, channelName, o, localRunner()));
    let written: ExportWritten;
    try {
      written = await writeExport(job, {
        catalog: this.catalog,
        registries: this.registries,
        onProgress: (p) => o.onProgress?.(p.bytesDone, p.bytesTotal),
      });
    } catch (e) {
      this.fail(job.jobId, isAirlockError(e) ? e.code : 'INTERNAL', (e as Error).message, ctx);
      throw isAirlockError(e) ? markAudited(e) : e;
    }
    return this.record(job.jobId, written, ctx) as ExportResult;
  }

  /** Starts an export as a queued job (the API): the worker writes it; its report is recorded by `record`. */
  async start(ctx: Ctx, channelName: string, o: ExportOptions = {}): Promise<BundleJobView> {
    const queue = this.queue;
    if (!queue) throw new AirlockError('QUEUE_UNAVAILABLE', 'this process runs no queue; use airlock bundle export');
    const job = this.audited(ctx, channelName, () => this.plan(ctx, channelName, o, 'queue'));
    try {
      await queue.enqueueExport(job);
    } catch (e) {
      // the reconciler enqueues it again while Redis is away; the job is recorded and the channel claimed
      if (!isAirlockError(e) || e.code !== 'QUEUE_UNAVAILABLE') throw e;
    }
    return this.view(job.jobId);
  }

  /**
   * Writes again the named volumes of a format-2 bundle exported before
   * (media lost or damaged): same index, same entries, new ciphertext, in
   * the folder the bundle was written to. Audited (`bundle.volumes.rewritten`).
   */
  async rewriteVolumes(
    ctx: Ctx,
    channelName: string,
    sequence: number,
    volumes: number[],
  ): Promise<{ bundleId: string; dir: string; volumes: { name: string; size: number; sha256?: string }[] }> {
    const ch = channelOf(this.catalog, channelName);
    const job = this.audited(ctx, channelName, () => {
      const row = this.bundles.bySequence(ch.name, 'export', sequence);
      if (!row) throw new AirlockError('NOT_FOUND', `channel ${ch.name} exported no bundle with sequence ${sequence}`);
      const plan = this.jobs.planOfBundle(row.id);
      if (!plan)
        throw new AirlockError('NOT_FOUND', `no export job of this side wrote bundle ${row.id}; its volumes cannot be written again here`);
      if (!(JSON.parse(row.volumes) as { name: string }[]).every((v) => v.name.endsWith('.zip')))
        throw new AirlockError(
          'INVALID_ARGUMENT',
          `bundle ${ch.name} ${sequence} is format 1: its volumes are one stream and cannot be written again one by one (export its promotions again with --resend)`,
        );
      return plan;
    });
    try {
      const written = await rewriteExportVolumes(job, volumes, { catalog: this.catalog, registries: this.registries });
      this.audit.append({
        actor: ctx.principal.user,
        role: ctx.principal.roles[0],
        action: 'bundle.volumes.rewritten',
        stage: ch.config.from,
        requestId: ctx.requestId,
        details: { bundleId: job.bundleId, channel: ch.name, sequence, volumes: written.volumes },
      });
      return { bundleId: job.bundleId, dir: written.dir, volumes: written.volumes };
    } catch (e) {
      return this.audited(ctx, channelName, () => {
        throw e;
      });
    }
  }

  private audited<T>(ctx: Ctx, channelName: string, f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (isAirlockError(e)) {
        this.audit.append({
          actor: ctx.principal.user,
          role: ctx.principal.roles[0],
          action: 'bundle.export.failed',
          requestId: ctx.requestId,
          details: { channel: channelName, code: e.code, message: e.message },
        });
        markAudited(e);
      }
      throw e;
    }
  }

  /** Claims the channel and fixes the next bundle, in one IMMEDIATE transaction. */
  private plan(ctx: Ctx, channelName: string, o: ExportOptions & { outDir?: string }, runner: string): ExportJob {
    const ch = channelOf(this.catalog, channelName);
    const from = this.catalog.get(ch.config.from);
    const to = this.catalog.get(ch.config.to);
    if (to.config.transport !== 'bundle')
      throw new AirlockError('CONFIG_INVALID', `channel ${ch.name}: stage ${to.name} is not a bundle stage`);
    return this.db
      .transaction((): ExportJob => {
        const active = this.jobs.active(ch.name);
        if (active && !abandoned(active))
          throw new AirlockError(
            'BUNDLE_EXPORT_BUSY',
            `another export of channel ${ch.name} is running (sequence ${active.sequence}, started by ${active.requested_by} at ${active.created_at}); try again when it has finished`,
          );
        if (active) this.fail(active.id, 'INTERNAL', `the process that ran it (${active.runner}) is gone`);
        const fresh = this.store.waitingForExport(from.name, to.name);
        const resend = this.resendable(ch.name, from.name, to.name, ch.config.resendAfterHours, o.resend);
        if (!fresh.length && !resend.length) {
          const unconfirmed = this.store.exportedUnconfirmed(from.name, to.name).length;
          throw new AirlockError(
            'BUNDLE_NOTHING_TO_EXPORT',
            `no verified promotion is waiting on channel ${ch.name}${unconfirmed ? `; ${unconfirmed === 1 ? '1 exported promotion has' : `${unconfirmed} exported promotions have`} no receipt yet (bundle export --resend sends them again)` : ''}`,
          );
        }
        const waiting = [...fresh, ...resend.map((r) => r.row)];
        const now = new Date();
        const job: ExportJob = {
          jobId: randomUUID(),
          bundleId: randomUUID(),
          channel: ch.name,
          sequence: this.bundles.lastSequence(ch.name, 'export') + 1,
          created: now.toISOString(),
          expires: new Date(now.getTime() + ch.config.lifetimeHours * 3600_000).toISOString(),
          full: !!o.full,
          outDir: o.outDir ?? ch.dir,
          knownBlobs: [...this.bundles.knownBlobs(ch.name)],
          images: waiting.map((p) => ({
            promotionId: p.id,
            source: p.source_ref,
            target: p.target_ref,
            digest: p.digest,
            ...(p.platforms ? { platforms: p.platforms.split(',') } : {}),
            mediaType: p.media_type,
            requester: p.requester,
            reason: p.reason,
            requestedAt: p.created_at,
            approvals: this.store
              .approvals(p.id)
              .map((a) => ({ approver: a.approver, role: a.role, comment: a.comment, at: a.created_at })),
            ...releaseField(this.db, p.id),
          })),
          resent: resend.map((r) => r.row.id),
        };
        this.jobs.insert(job, { runner, requestedBy: ctx.principal.user, requestId: ctx.requestId });
        for (const { row, reason } of resend) {
          this.audit.append({
            actor: ctx.principal.user,
            role: ctx.principal.roles[0],
            action: 'bundle.resend',
            promotionId: row.id,
            stage: to.name,
            image: row.target_ref,
            digest: row.digest,
            requestId: ctx.requestId,
            details: {
              channel: ch.name,
              reason,
              jobId: job.jobId,
              bundleId: job.bundleId,
              sequence: job.sequence,
              exportedAt: row.updated_at,
            },
          });
        }
        this.audit.append({
          actor: ctx.principal.user,
          role: ctx.principal.roles[0],
          action: 'bundle.export.started',
          stage: to.name,
          requestId: ctx.requestId,
          details: {
            jobId: job.jobId,
            bundleId: job.bundleId,
            channel: ch.name,
            sequence: job.sequence,
            images: job.images.length,
            resent: job.resent.length,
            runner: runner === 'queue' ? 'queue' : 'this process',
          },
        });
        return job;
      })
      .immediate();
  }

  /**
   * Promotions to send again: exported, never confirmed by a receipt, and
   * not superseded by a later promotion of the same target (which would take
   * the tag back). Named ones must be all of that, or the export is refused;
   * `true` takes every one; otherwise those exported `afterHours` ago.
   */
  private resendable(
    channel: string,
    from: string,
    to: string,
    afterHours: number,
    named?: boolean | string[],
  ): { row: PromotionRow; reason: string }[] {
    if (Array.isArray(named)) {
      return [...new Set(named)].map((id) => {
        const p = this.store.get(id);
        if (!p || p.from_stage !== from || p.to_stage !== to)
          throw new AirlockError(
            'PROMOTION_NOT_FOUND',
            `no promotion ${JSON.stringify(id.slice(0, 64))} from ${from} to ${to} (channel ${channel})`,
          );
        if (p.state !== 'exported')
          throw new AirlockError(
            'PROMOTION_STATE',
            `promotion ${p.id} is ${p.state}: only an exported promotion that no receipt confirmed can be sent again`,
          );
        const later = this.store.supersededBy(p);
        if (later)
          throw new AirlockError(
            'PROMOTION_STATE',
            `promotion ${p.id} is superseded by ${later.id} (${later.target_ref}, ${later.state}): sending it again would take the tag back to an older image`,
          );
        return { row: p, reason: 'named by the operator' };
      });
    }
    const cutoff = named === true ? Infinity : afterHours > 0 ? Date.now() - afterHours * 3600_000 : -Infinity;
    return this.store
      .exportedUnconfirmed(from, to)
      .filter((p) => Date.parse(p.updated_at) <= cutoff && !this.store.supersededBy(p))
      .map((row) => ({
        row,
        reason: named === true ? 'every unconfirmed promotion, by the operator' : `no receipt ${afterHours} h after it was exported`,
      }));
  }

  /** Records a written bundle: the channel's sequence, its promotions exported, the audit event; once. */
  record(jobId: string, written: ExportWritten, ctx: Ctx | typeof SYSTEM = SYSTEM): ExportResult | undefined {
    const m = written.manifest;
    const resent = new Set(this.jobs.plan(jobId)?.resent ?? []);
    const result: ExportResult = {
      bundleId: m.id,
      channel: m.channel,
      sequence: m.sequence,
      dir: written.dir,
      volumes: written.volumes,
      indexFile: written.indexFile,
      images: m.images.length,
      resent: resent.size,
      bytes: written.bytes,
      blobsLeftOut: written.blobsLeftOut,
    };
    const recorded = this.db
      .transaction(() => {
        if (!this.jobs.finish(jobId, { state: 'completed', result, bytes: m.entries.reduce((a, e) => a + e.size, 0) })) return false;
        this.bundles.record('export', m, { volumes: written.volumes, bytes: written.bytes });
        this.audit.append({
          actor: ctx.principal.user,
          role: ctx.principal.roles[0],
          action: 'bundle.exported',
          stage: m.target,
          requestId: 'requestId' in ctx ? ctx.requestId : undefined,
          details: {
            jobId,
            bundleId: m.id,
            channel: m.channel,
            sequence: m.sequence,
            volumes: written.volumes.length,
            bytes: written.bytes,
            images: m.images.length,
            full: m.full,
            blobsLeftOut: written.blobsLeftOut,
            resent: resent.size,
          },
        });
        for (const img of m.images) {
          const cur = this.store.get(img.promotionId);
          if (cur && nextState(cur.state, 'export'))
            this.service.transition(ctx, cur, 'export', {}, { bundleId: m.id, sequence: m.sequence });
          // sent again: its clock for the next resend starts now
          else if (cur && resent.has(cur.id) && cur.state === 'exported') this.store.touch(cur.id);
        }
        return true;
      })
      .immediate();
    return recorded ? result : undefined;
  }

  /** Ends a job that failed (the channel is free again), with its audit event; once. */
  fail(jobId: string, code: string, message: string, ctx: Ctx | typeof SYSTEM = SYSTEM): void {
    this.db
      .transaction(() => {
        const j = this.jobs.get(jobId);
        if (!j || !this.jobs.finish(jobId, { state: 'failed', code, message })) return;
        this.audit.append({
          actor: ctx.principal.user,
          role: ctx.principal.roles[0],
          action: 'bundle.export.failed',
          requestId: 'requestId' in ctx ? ctx.requestId : undefined,
          details: { jobId, channel: j.channel, sequence: j.sequence, code, message: message.slice(0, 500) },
        });
      })
      .immediate();
  }

  progress(jobId: string, p: ExportProgress): void {
    this.jobs.progress(jobId, p.bytesDone, p.bytesTotal);
  }

  view(jobId: string): BundleJobView {
    return this.jobs.view(jobId);
  }

  /** Exports the queue runs whose job is gone (Redis wiped) are enqueued again; finished ones are recorded. */
  async reconcile(): Promise<void> {
    const queue = this.queue;
    if (!queue) return;
    for (const j of this.jobs.allActive()) {
      if (j.runner !== 'queue') continue;
      const st = await queue.exportStatus(j.id);
      if (st.state === 'missing') await queue.enqueueExport(JSON.parse(j.plan) as ExportJob);
      else if (st.state === 'completed') this.record(j.id, st.result);
      else if (st.state === 'failed') this.fail(j.id, st.code, st.message);
    }
  }
}
