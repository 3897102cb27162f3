import { randomUUID } from 'node:crypto';
import { AirlockError, isAirlockError, markAudited } from '@airlock/common';
import { AuditLog } from '@airlock/audit';
import { Db, GroupCommit, statement } from '@airlock/database';
import { Ctx, PreparedRequest, PromotionService } from './promotion.service';
import { PromotionRow } from './promotion-store';
import { PromotionView } from './promotion-view';
import { nextState } from './promotion-lifecycle';
import { actingRole } from './roles';

/** A release as requested. */
export interface ReleaseInput {
  name: string;
  /** References, or `{ image, platforms }` to carry only those platforms of an index. */
  images: (string | ReleaseImage)[];
  from: string;
  to: string;
  reason?: string;
}

/** One image of a release with the platforms chosen from it. */
export interface ReleaseImage {
  image: string;
  platforms?: string[];
}

/** A release as the API shows it: its state derived from its promotions, each image's state and progress. */
export interface ReleaseView {
  id: string;
  name: string;
  from: string;
  to: string;
  reason: string;
  requester: string;
  state: string;
  createdAt: string;
  progress: { bytesDone: number; bytesTotal: number };
  images: {
    promotionId: string;
    image: string;
    target: string;
    digest: string;
    targetDigest: string;
    platforms: string[] | null;
    state: string;
    approvalsNeeded: number;
    progress: { bytesDone: number; bytesTotal: number };
    error: { code: string; message: string } | null;
  }[];
}

interface ReleaseRow {
  id: string;
  name: string;
  from_stage: string;
  to_stage: string;
  reason: string;
  requester: string;
  created_at: string;
}

/** What a release may be called (shop-1.4). */
export const RELEASE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
export const MAX_RELEASE_IMAGES = 200;
const ACTIVE = ['approved', 'queued', 'verifying', 'copying', 'signing', 'published', 'exporting'];

/**
 * The state of a set of promotions taken as one: rejected or cancelled when
 * any was; requested while any waits for approvals; running while any runs;
 * failed when one failed and none runs any more; completed when every one
 * completed (imported across the gap counts), exported when the rest wait
 * on the far side of the gap.
 */
export function releaseState(states: string[]): string {
  for (const s of ['rejected', 'cancelled', 'requested']) if (states.includes(s)) return s;
  if (states.some((s) => ACTIVE.includes(s))) return 'running';
  if (states.includes('failed')) return 'failed';
  if (states.every((s) => s === 'completed' || s === 'imported')) return 'completed';
  return 'exported';
}

/**
 * Releases: many images, one decision. A release's images are promotions of
 * their own (each runs as its own job, with its own steps and audit trail),
 * requested together (all or none: every tag is resolved before anything is
 * recorded), decided together (approve, reject, cancel apply to each), and
 * retried together (only what failed runs again).
 */
export class ReleaseService {
  constructor(
    private readonly db: Db,
    private readonly commits: GroupCommit,
    private readonly audit: AuditLog,
    private readonly promotions: PromotionService,
  ) {}

  async request(ctx: Ctx, input: ReleaseInput): Promise<ReleaseView> {
    const id = randomUUID();
    try {
      if (!RELEASE_NAME.test(input.name ?? ''))
        throw new AirlockError('INVALID_ARGUMENT', 'a release name is 1-100 letters, digits, dots, dashes or underscores (shop-1.4)');
      const images = (input.images ?? []).map((im): ReleaseImage => (typeof im === 'string' ? { image: im } : im));
      if (!images.length || images.length > MAX_RELEASE_IMAGES)
        throw new AirlockError('INVALID_ARGUMENT', `a release holds 1 to ${MAX_RELEASE_IMAGES} images`);
      const twice = images.find((im, i) => images.findIndex((o) => o.image === im.image) !== i);
      if (twice) throw new AirlockError('INVALID_ARGUMENT', `${twice.image} is listed twice`);
      // every image checked and resolved before anything is recorded: one bad image records none
      const prepared: PreparedRequest[] = [];
      for (const { image, platforms } of images) {
        try {
          prepared.push(await this.promotions.prepare(ctx, { image, platforms, from: input.from, to: input.to, reason: input.reason }));
        } catch (e) {
          if (isAirlockError(e)) throw new AirlockError(e.code, `${image}: ${e.message}`);
          throw e;
        }
      }
      const target = prepared.find((p, i) => prepared.findIndex((q) => q.row.target_ref === p.row.target_ref) !== i);
      if (target) throw new AirlockError('INVALID_ARGUMENT', `two images of the release go to ${target.row.target_ref}`);
      const queued: PromotionRow[] = [];
      await this.commits.commit(() => {
        const now = new Date().toISOString();
        statement(
          this.db,
          'INSERT INTO releases (id, name, from_stage, to_stage, reason, requester, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        ).run(id, input.name, input.from, input.to, input.reason ?? '', ctx.principal.user, now);
        this.audit.append({
          actor: ctx.principal.user,
          role: actingRole(ctx.principal, 'requester'),
          action: 'release.requested',
          stage: input.to,
          requestId: ctx.requestId,
          details: {
            releaseId: id,
            name: input.name,
            from: input.from,
            to: input.to,
            reason: input.reason ?? '',
            promotions: prepared.map((p) => p.row.id),
          },
        });
        prepared.forEach((p, position) => {
          const q = this.promotions.record(ctx, p, id);
          statement(this.db, 'INSERT INTO release_members (release_id, position, promotion_id) VALUES (?, ?, ?)').run(
            id,
            position,
            p.row.id,
          );
          if (q) queued.push(q);
        });
      });
      for (const q of queued) await this.promotions.enqueue(q);
      return this.view(id);
    } catch (e) {
      if (isAirlockError(e)) {
        this.audit.append({
          actor: ctx.principal.user,
          role: ctx.principal.roles[0],
          action: 'release.request.refused',
          stage: input?.to,
          requestId: ctx.requestId,
          details: { name: String(input?.name ?? '').slice(0, 100), code: e.code, message: e.message },
        });
        markAudited(e);
      }
      throw e;
    }
  }

  private row(id: string): ReleaseRow {
    const r =
      typeof id === 'string' && /^[0-9a-f-]{36}$/.test(id)
        ? (statement(this.db, 'SELECT * FROM releases WHERE id = ?').get(id) as ReleaseRow | undefined)
        : undefined;
    if (!r) throw new AirlockError('NOT_FOUND', `no release ${JSON.stringify(String(id).slice(0, 40))}`);
    return r;
  }

  /** The promotion ids of a release, in the order requested. */
  members(id: string): string[] {
    return (
      statement(this.db, 'SELECT promotion_id FROM release_members WHERE release_id = ? ORDER BY position').all(id) as {
        promotion_id: string;
      }[]
    ).map((m) => m.promotion_id);
  }

  view(id: string): ReleaseView {
    const r = this.row(id);
    const members: PromotionView[] = this.members(id).map((m) => this.promotions.view(m, false));
    return {
      id: r.id,
      name: r.name,
      from: r.from_stage,
      to: r.to_stage,
      reason: r.reason,
      requester: r.requester,
      state: releaseState(members.map((m) => m.state)),
      createdAt: r.created_at,
      progress: {
        bytesDone: members.reduce((n, m) => n + m.progress.bytesDone, 0),
        bytesTotal: members.reduce((n, m) => n + m.progress.bytesTotal, 0),
      },
      images: members.map((m) => ({
        promotionId: m.id,
        image: m.source,
        target: m.target,
        digest: m.digest,
        targetDigest: m.targetDigest,
        platforms: m.platforms,
        state: m.state,
        approvalsNeeded: m.approvalsNeeded,
        progress: m.progress,
        error: m.error,
      })),
    };
  }

  /** Newest first. */
  list(limit = 50): ReleaseView[] {
    const ids = statement(this.db, 'SELECT id FROM releases ORDER BY created_at DESC, rowid DESC LIMIT ?').all(
      Math.min(Math.max(limit, 1), 200),
    ) as { id: string }[];
    return ids.map((r) => this.view(r.id));
  }

  /**
   * Applies one decision to each image it applies to (approve and reject:
   * the requested ones; cancel: those not yet running; retry: the failed
   * ones). PROMOTION_STATE when it applies to none. The first image is
   * decided alone, so a refusal that holds for all (a role, one's own
   * request) is met and audited once and stops the rest; the others are
   * decided together, their writes sharing group commits.
   */
  async decide(ctx: Ctx, id: string, what: 'approve' | 'reject' | 'cancel' | 'retry', text = ''): Promise<ReleaseView> {
    this.row(id);
    const targets = this.members(id)
      .map((m) => this.promotions.view(m, false))
      .filter((m) => (what === 'approve' ? m.state === 'requested' : !!nextState(m.state as never, what)));
    if (!targets.length)
      throw new AirlockError('PROMOTION_STATE', `no image of release ${id} can be ${what === 'retry' ? 'retried' : `${what}d`} now`);
    const apply = (m: PromotionView) =>
      what === 'approve'
        ? this.promotions.approve(ctx, m.id, text)
        : what === 'reject'
          ? this.promotions.reject(ctx, m.id, text)
          : what === 'cancel'
            ? this.promotions.cancel(ctx, m.id)
            : this.promotions.retry(ctx, m.id);
    // the first alone: a refusal that holds for every image (role, own request) is met once; the rest share group commits
    await apply(targets[0]);
    await Promise.all(targets.slice(1).map(apply));
    return this.view(id);
  }
}
