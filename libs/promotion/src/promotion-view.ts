import { ApprovalRow, PromotionRow, StepRow } from './promotion-store';

/** A promotion as the API shows it. */
export interface PromotionView {
  id: string;
  image: string;
  source: string;
  target: string;
  /** The digest requested and verified at the source. */
  digest: string;
  /** The digest that lands at the target: the digest itself, or the subset index's when platforms were chosen. */
  targetDigest: string;
  /** The platforms chosen from an index; null when the image is carried as it is. */
  platforms: string[] | null;
  mediaType: string;
  from: string;
  to: string;
  reason: string;
  requester: string;
  state: string;
  attempt: number;
  approvalsRequired: number;
  approvalsNeeded: number;
  approvals: { approver: string; role: string; comment: string; at: string }[];
  progress: { bytesDone: number; bytesTotal: number };
  steps?: { attempt: number; name: string; state: string; startedAt: string; finishedAt: string | null; detail: unknown }[];
  error: { code: string; message: string } | null;
  result: unknown;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

/** Maps rows to the API's view of a promotion. */
export function toView(r: PromotionRow, approvals: ApprovalRow[], steps?: StepRow[]): PromotionView {
  return {
    id: r.id,
    image: r.image,
    source: r.source_ref,
    target: r.target_ref,
    digest: r.digest,
    targetDigest: r.target_digest ?? r.digest,
    platforms: r.platforms ? r.platforms.split(',') : null,
    mediaType: r.media_type,
    from: r.from_stage,
    to: r.to_stage,
    reason: r.reason,
    requester: r.requester,
    state: r.state,
    attempt: r.attempt,
    approvalsRequired: r.approvals_required,
    approvalsNeeded: Math.max(0, r.approvals_required - approvals.length),
    approvals: approvals.map((a) => ({ approver: a.approver, role: a.role, comment: a.comment, at: a.created_at })),
    progress: { bytesDone: r.bytes_done, bytesTotal: r.bytes_total },
    ...(steps
      ? {
          steps: steps.map((s) => ({
            attempt: s.attempt,
            name: s.name,
            state: s.state,
            startedAt: s.started_at,
            finishedAt: s.finished_at,
            detail: s.detail ? (JSON.parse(s.detail) as unknown) : null,
          })),
        }
      : {}),
    error: r.error_code ? { code: r.error_code, message: r.error_message ?? '' } : null,
    result: r.result ? JSON.parse(r.result) : null,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    finishedAt: r.finished_at,
  };
}
