import { randomUUID } from 'node:crypto';
import { AirlockError, isAirlockError, markAudited } from '@airlock/common';
import { AuditAction, AuditInput, AuditLog, StateChange, stateChangesAfter } from '@airlock/audit';
import { Db, GroupCommit, ReadCache } from '@airlock/database';
import { ManifestBlob, Registries, formatReference, manifestSelector, parseManifest, parseReference, subsetIndex } from '@airlock/oci';
import { StageCatalog } from './stage-catalog';
import { Principal, actingRole, hasRole, Role } from './roles';
import { PromotionRow, PromotionStore } from './promotion-store';
import { PromotionEvent, TERMINAL, nextState } from './promotion-lifecycle';
import { PromotionQueue } from './promotion-queue';
import { CARRIED_MANIFEST_MAX } from './queues';
import { PromotionView, toView } from './promotion-view';
import { mapReference } from './repository-mapping';

/** Resolved manifests kept for their promote jobs (at most CARRIED_MANIFEST_MAX bytes each; the oldest forgotten first: its worker fetches it). */
const RESOLVED_KEPT = 512;

/** Who acts and under which request id (for the audit log). */
export interface Ctx {
  principal: Principal;
  requestId?: string;
}

export interface RequestInput {
  image: string;
  from: string;
  to: string;
  reason?: string;
  /** Only these platforms of an index (os/architecture[/variant]); the rest stay behind. */
  platforms?: string[];
}

/** A request checked and resolved, not yet recorded (PromotionService.prepare). */
export interface PreparedRequest {
  row: PromotionRow;
  /** The image as the requester wrote it. */
  requested: string;
  /** The manifest the request resolved (for the promote job to carry). */
  manifest: ManifestBlob;
}

/**
 * The promotion use cases the API calls: request, approve, reject, cancel,
 * retry, and the views. Every state change and every refusal writes an
 * audit event in the same transaction as the change.
 */
export class PromotionService {
  readonly store: PromotionStore;
  /** Views and pages as last computed, until the database changes (polled pages cost one check, not their queries). */
  private readonly reads: ReadCache;
  /** Manifests requests resolved, by promotion id, until their job is enqueued (the worker then need not fetch them again). */
  private readonly resolved = new Map<string, ManifestBlob>();

  constructor(
    private readonly db: Db,
    /** Answers commit here, together, and are durable before the caller hears of them. */
    private readonly commits: GroupCommit,
    private readonly audit: AuditLog,
    private readonly catalog: StageCatalog,
    private readonly registries: Registries,
    private readonly queue: PromotionQueue,
  ) {
    this.store = new PromotionStore(db);
    this.reads = new ReadCache(db);
  }

  /** Records a refusal (bad input, forbidden action) and rethrows it. */
  private refused(
    ctx: Ctx,
    action: 'promotion.request' | 'promotion.approve' | 'promotion.reject' | 'promotion.cancel' | 'promotion.retry',
    e: unknown,
    extra: Partial<AuditInput> = {},
  ): never {
    if (isAirlockError(e)) {
      this.audit.append({
        actor: ctx.principal.user,
        role: ctx.principal.roles[0],
        action: `${action}.refused`,
        requestId: ctx.requestId,
        ...extra,
        details: { code: e.code, message: e.message },
      });
      markAudited(e);
    }
    throw e;
  }

  private event(
    ctx: Ctx | { principal: { user: string; roles: Role[] } },
    action: AuditAction,
    p: PromotionRow,
    details: Record<string, unknown> = {},
    role?: string,
  ): void {
    this.audit.append({
      actor: ctx.principal.user,
      role: role ?? ctx.principal.roles[0],
      action,
      promotionId: p.id,
      stage: p.to_stage,
      image: p.target_ref,
      digest: p.digest,
      requestId: 'requestId' in ctx ? ctx.requestId : undefined,
      details,
    });
  }

  /** Moves a promotion by `event` to where the lifecycle table says, with its audit event; PROMOTION_STATE when the table does not allow it. */
  transition(
    ctx: Ctx | { principal: { user: string; roles: Role[] } },
    p: PromotionRow,
    event: PromotionEvent,
    fields: Partial<PromotionRow> = {},
    details: Record<string, unknown> = {},
  ): PromotionRow {
    const to = nextState(p.state, event);
    if (!to) throw new AirlockError('PROMOTION_STATE', `promotion ${p.id} is ${p.state}: it cannot ${event}`);
    const now = new Date().toISOString();
    const finished = TERMINAL.includes(to) ? { finished_at: now } : {};
    this.store.update(p.id, { ...fields, state: to, ...finished });
    const next = { ...p, ...fields, state: to, ...finished };
    this.event(ctx, 'promotion.state', next, { from: p.state, to, ...details });
    return next;
  }

  /** Resolves the tag to a digest now; that digest is what will be promoted. */
  async request(ctx: Ctx, input: RequestInput): Promise<PromotionView> {
    try {
      const prepared = await this.prepare(ctx, input);
      let queued: PromotionRow | undefined;
      await this.commits.commit(() => {
        queued = this.record(ctx, prepared);
      });
      if (queued) await this.enqueue(queued);
      return this.view(prepared.row.id);
    } catch (e) {
      return this.refused(ctx, 'promotion.request', e, { image: input?.image, stage: input?.to });
    }
  }

  /**
   * Checks a request and resolves its tag (a registry round trip), writing
   * nothing: the promotion as it would be recorded. A release prepares all
   * its images first, so that one bad image records none of them.
   */
  async prepare(ctx: Ctx, input: RequestInput): Promise<PreparedRequest> {
    if (!hasRole(ctx.principal, 'requester')) throw new AirlockError('FORBIDDEN', 'requesting a promotion needs the requester role');
    const from = this.catalog.get(input.from);
    const to = this.catalog.get(input.to);
    const arrival = to.config.from.find((f) => f.stage === from.name);
    if (!arrival) throw new AirlockError('PROMOTION_ROUTE_UNKNOWN', `stage ${to.name} does not accept images from ${from.name}`);
    const src = parseReference(input.image, { defaultTag: false });
    if (src.registry !== from.registry)
      throw new AirlockError('INVALID_ARGUMENT', `${formatReference(src)} is not in stage ${from.name}'s registry ${from.registry}`);
    if (!src.tag && !src.digest) throw new AirlockError('INVALID_REFERENCE', 'give the image with a tag or a digest');
    const dst = mapReference(src, arrival.mapping);
    if (!dst)
      throw new AirlockError('INVALID_ARGUMENT', `no repository mapping of stage ${to.name} covers ${src.registry}/${src.repository}`);
    const m = await this.registries.client(src.registry).getManifest(src.repository, manifestSelector(src));
    const mediaType = parseManifest(m.bytes, m.mediaType).mediaType;
    // the subset index that will land, computed now from the index as resolved (the run computes it again from the verified one)
    const subset = input.platforms ? subsetIndex({ ...m, mediaType }, input.platforms) : undefined;
    const chosen = subset && subset.digest !== m.digest;
    const now = new Date().toISOString();
    const row: PromotionRow = {
      id: randomUUID(),
      image: input.image,
      source_ref: formatReference({ ...src, digest: undefined }) || formatReference(src),
      target_ref: formatReference({ ...dst, digest: undefined }),
      digest: m.digest,
      media_type: mediaType,
      from_stage: from.name,
      to_stage: to.name,
      reason: input.reason ?? '',
      requester: ctx.principal.user,
      state: 'requested',
      approvals_required: to.config.approvals.required,
      attempt: 0,
      error_code: null,
      error_message: null,
      bytes_done: 0,
      bytes_total: 0,
      result: null,
      created_at: now,
      updated_at: now,
      finished_at: null,
      platforms: chosen ? (input.platforms as string[]).join(',') : null,
      target_digest: chosen ? subset.digest : null,
    };
    return { row, requested: input.image, manifest: m };
  }

  /** Records a prepared request with its audit event, inside the caller's commit; the promotion to enqueue after it when no approval is needed. */
  record(ctx: Ctx, p: PreparedRequest, release?: string): PromotionRow | undefined {
    const row = p.row;
    this.store.insert(row);
    if (p.manifest.bytes.length <= CARRIED_MANIFEST_MAX) {
      this.resolved.set(row.id, p.manifest);
      if (this.resolved.size > RESOLVED_KEPT) this.resolved.delete(this.resolved.keys().next().value as string);
    }
    this.event(
      ctx,
      'promotion.requested',
      row,
      {
        requested: p.requested,
        source: row.source_ref,
        target: row.target_ref,
        from: row.from_stage,
        to: row.to_stage,
        reason: row.reason,
        approvalsRequired: row.approvals_required,
        ...(row.platforms ? { platforms: row.platforms.split(','), targetDigest: row.target_digest } : {}),
        ...(release ? { release } : {}),
      },
      actingRole(ctx.principal, 'requester'),
    );
    return row.approvals_required === 0 ? this.queueUp(ctx, row) : undefined;
  }

  /** approved -> queued within the caller's transaction. */
  private queueUp(ctx: Ctx, p: PromotionRow): PromotionRow {
    const approved = this.transition(ctx, p, 'approve');
    return this.transition(ctx, approved, 'enqueue', { attempt: p.attempt + 1, error_code: null, error_message: null });
  }

  /** Hands the job to the queue; if Redis is away the reconciler enqueues it later. */
  async enqueue(p: PromotionRow): Promise<void> {
    const m = this.resolved.get(p.id);
    try {
      await this.queue.enqueue({
        promotionId: p.id,
        attempt: p.attempt,
        fromStage: p.from_stage,
        toStage: p.to_stage,
        source: p.source_ref,
        digest: p.digest,
        target: p.target_ref,
        ...(p.platforms ? { platforms: p.platforms.split(',') } : {}),
        ...(m?.digest === p.digest ? { manifest: { mediaType: m.mediaType, bytes: m.bytes.toString('base64') } } : {}),
      });
      this.resolved.delete(p.id);
    } catch {
      /* the reconciler retries: the database says work is pending */
    }
  }

  private mustGet(id: string): PromotionRow {
    const p = typeof id === 'string' && /^[0-9a-f-]{36}$/.test(id) ? this.store.get(id) : undefined;
    if (!p) throw new AirlockError('PROMOTION_NOT_FOUND', `no promotion ${JSON.stringify(String(id).slice(0, 40))}`);
    return p;
  }

  /** Approves; idempotent per approver; queues the promotion when enough distinct approvers agreed. */
  async approve(ctx: Ctx, id: string, comment = ''): Promise<PromotionView> {
    let queued: PromotionRow | undefined;
    try {
      const p = this.mustGet(id);
      const policy = this.catalog.get(p.to_stage).config.approvals;
      if (!hasRole(ctx.principal, ...(policy.roles as Role[])))
        throw new AirlockError('FORBIDDEN', `approving promotions to ${p.to_stage} needs one of the roles ${policy.roles.join(', ')}`);
      if (ctx.principal.user === p.requester)
        throw new AirlockError('SELF_APPROVAL_FORBIDDEN', 'the requester of a promotion cannot approve it');
      await this.commits.commit(() => {
        const cur = this.mustGet(id);
        const already = this.store.approvals(id).some((a) => a.approver === ctx.principal.user);
        if (already) return;
        if (cur.state !== 'requested')
          throw new AirlockError('PROMOTION_STATE', `promotion is ${cur.state}; only a requested promotion can be approved`);
        this.store.addApproval({
          promotion_id: id,
          approver: ctx.principal.user,
          role: actingRole(ctx.principal, ...(policy.roles as Role[])),
          comment,
          created_at: new Date().toISOString(),
        });
        this.event(ctx, 'promotion.approved', cur, { comment }, actingRole(ctx.principal, ...(policy.roles as Role[])));
        if (this.store.approvals(id).length >= cur.approvals_required) queued = this.queueUp(ctx, cur);
      });
    } catch (e) {
      return this.refused(ctx, 'promotion.approve', e, {
        promotionId: typeof id === 'string' && /^[0-9a-f-]{36}$/.test(id) && this.store.get(id) ? id : undefined,
      });
    }
    if (queued) await this.enqueue(queued);
    return this.view(id);
  }

  async reject(ctx: Ctx, id: string, reason = ''): Promise<PromotionView> {
    try {
      const p = this.mustGet(id);
      const policy = this.catalog.get(p.to_stage).config.approvals;
      if (!hasRole(ctx.principal, ...(policy.roles as Role[])))
        throw new AirlockError('FORBIDDEN', `rejecting promotions to ${p.to_stage} needs one of the roles ${policy.roles.join(', ')}`);
      await this.commits.commit(() => {
        const cur = this.mustGet(id);
        if (!nextState(cur.state, 'reject'))
          throw new AirlockError('PROMOTION_STATE', `promotion is ${cur.state}; only a requested promotion can be rejected`);
        this.transition(ctx, cur, 'reject', {}, { reason });
      });
    } catch (e) {
      return this.refused(ctx, 'promotion.reject', e);
    }
    return this.view(id);
  }

  /** Cancels before execution (requester of it, or admin). */
  async cancel(ctx: Ctx, id: string): Promise<PromotionView> {
    try {
      const p = this.mustGet(id);
      if (!(ctx.principal.roles.includes('admin') || (ctx.principal.user === p.requester && hasRole(ctx.principal, 'requester')))) {
        throw new AirlockError('FORBIDDEN', 'only the requester or an admin can cancel a promotion');
      }
      if (!nextState(p.state, 'cancel'))
        throw new AirlockError('PROMOTION_STATE', `promotion is ${p.state}; it can be cancelled only before it runs`);
      if (p.state === 'queued' && !(await this.queue.remove(p.id, p.attempt)))
        throw new AirlockError('PROMOTION_STATE', 'promotion has started running; it can no longer be cancelled');
      await this.commits.commit(() => {
        const cur = this.mustGet(id);
        if (!nextState(cur.state, 'cancel'))
          throw new AirlockError('PROMOTION_STATE', `promotion is ${cur.state}; it can be cancelled only before it runs`);
        this.transition(ctx, cur, 'cancel');
      });
    } catch (e) {
      return this.refused(ctx, 'promotion.cancel', e);
    }
    return this.view(id);
  }

  /** Runs a failed promotion again (admin). */
  async retry(ctx: Ctx, id: string): Promise<PromotionView> {
    let next: PromotionRow | undefined;
    try {
      if (!ctx.principal.roles.includes('admin')) throw new AirlockError('FORBIDDEN', 'retrying a promotion needs the admin role');
      await this.commits.commit(() => {
        const cur = this.mustGet(id);
        if (!nextState(cur.state, 'retry'))
          throw new AirlockError('PROMOTION_STATE', `promotion is ${cur.state}; only a failed promotion can be retried`);
        this.event(ctx, 'promotion.retried', cur, { previousError: cur.error_code }, 'admin');
        next = this.transition(ctx, cur, 'retry', {
          attempt: cur.attempt + 1,
          error_code: null,
          error_message: null,
          finished_at: null,
          bytes_done: 0,
        });
      });
    } catch (e) {
      return this.refused(ctx, 'promotion.retry', e);
    }
    if (next) await this.enqueue(next);
    return this.view(id);
  }

  /** The promotion as the API shows it (frozen: the same answer is shared until the database changes). */
  view(id: string, withSteps = true): PromotionView {
    return this.reads.read(`view\0${id}\0${withSteps}`, () => {
      const p = this.mustGet(id);
      return toView(p, this.store.approvals(id), withSteps ? this.store.steps(id) : undefined);
    });
  }

  /** Its state changes after audit event `afterSeq` (PROMOTION_NOT_FOUND for an unknown id). */
  stateChanges(id: string, afterSeq: number): StateChange[] {
    return stateChangesAfter(this.db, id, afterSeq);
  }

  list(f: { state?: string; stage?: string; image?: string; requester?: string; limit?: number; cursor?: string }): {
    items: PromotionView[];
    nextCursor: string | null;
  } {
    const limit = Math.min(Math.max(f.limit ?? 50, 1), 200);
    let before: number | undefined;
    if (f.cursor) {
      const n = Number(Buffer.from(f.cursor, 'base64url').toString());
      if (!Number.isSafeInteger(n) || n < 1) throw new AirlockError('INVALID_ARGUMENT', 'cursor is not one this API gave out');
      before = n;
    }
    const filter = { state: f.state, stage: f.stage, image: f.image, requester: f.requester, limit: limit + 1, before };
    return this.reads.read(`list\0${JSON.stringify(filter)}`, () => {
      const rows = this.store.list(filter);
      const page = rows.slice(0, limit);
      const approvals = this.store.approvalsFor(page.map((r) => r.id));
      return {
        items: page.map((r) => toView(r, approvals.get(r.id) ?? [])),
        nextCursor: rows.length > limit ? Buffer.from(String(page[page.length - 1].rowid)).toString('base64url') : null,
      };
    });
  }
}
