/**
 * The promotion lifecycle, owned here and nowhere else: its states, the
 * events that move a promotion, and the one table of the moves allowed.
 * Every state change in airlock goes through `nextState`; anything the
 * table does not list is refused (PROMOTION_STATE), so a report delivered
 * twice or late by the queue changes nothing.
 */

export const STATES = [
  'requested',
  'approved',
  'queued',
  'verifying',
  'copying',
  'signing',
  'published',
  'completed',
  'exporting',
  'exported',
  'imported',
  'rejected',
  'cancelled',
  'failed',
] as const;
export type PromotionState = (typeof STATES)[number];

/** States nothing moves a promotion out of, except `retry` out of `failed`. */
export const TERMINAL: readonly PromotionState[] = ['completed', 'imported', 'rejected', 'cancelled', 'failed'];
/** States in which work is pending in the queue (the reconciler looks after these). */
export const RUNNING: readonly PromotionState[] = ['queued', 'verifying', 'copying', 'signing', 'published'];

export type PromotionEvent =
  | 'approve' // enough approvals
  | 'reject'
  | 'cancel'
  | 'enqueue' // handed to the queue
  | 'retry' // an admin runs a failed promotion again
  | 'verify' // a worker started a step (or its report arrived)
  | 'copy'
  | 'sign'
  | 'publish'
  | 'complete'
  | 'await-export' // verified; the target is air-gapped and its channel's next bundle carries it
  | 'export' // written into a bundle
  | 'receipt' // the high side's receipt confirms the import (low side)
  | 'arrive' // imported from a bundle, with its approvals (high side)
  | 'fail';

/** Where a run can be: a worker's reports may be lost or late, so a step may be skipped, never gone back to. */
const RUN_BEFORE = (s: PromotionState): PromotionState[] => RUNNING.slice(0, RUNNING.indexOf(s));

/** (from, event, to): the only moves a promotion makes. */
export const TRANSITIONS: readonly { from: readonly PromotionState[]; event: PromotionEvent; to: PromotionState }[] = [
  { from: ['requested'], event: 'approve', to: 'approved' },
  { from: ['requested'], event: 'reject', to: 'rejected' },
  { from: ['requested', 'approved', 'queued'], event: 'cancel', to: 'cancelled' },
  { from: ['approved'], event: 'enqueue', to: 'queued' },
  { from: ['failed'], event: 'retry', to: 'queued' },
  { from: RUN_BEFORE('verifying'), event: 'verify', to: 'verifying' },
  { from: RUN_BEFORE('copying'), event: 'copy', to: 'copying' },
  { from: RUN_BEFORE('signing'), event: 'sign', to: 'signing' },
  { from: RUN_BEFORE('published'), event: 'publish', to: 'published' },
  { from: RUNNING, event: 'complete', to: 'completed' },
  { from: ['queued', 'verifying'], event: 'await-export', to: 'exporting' },
  { from: ['exporting'], event: 'export', to: 'exported' },
  { from: ['exported'], event: 'receipt', to: 'imported' },
  { from: ['approved'], event: 'arrive', to: 'imported' },
  { from: ['approved', ...RUNNING, 'exporting'], event: 'fail', to: 'failed' },
];

/** The state `event` moves a promotion in `state` to, or undefined when the table does not allow it. */
export function nextState(state: PromotionState, event: PromotionEvent): PromotionState | undefined {
  return TRANSITIONS.find((t) => t.event === event && t.from.includes(state))?.to;
}

/** The event a worker's step report stands for: a step starting, or the last one finishing. */
export function stepEvent(step: string, status: 'started' | 'done'): PromotionEvent | undefined {
  if (status === 'started') return step === 'verify' || step === 'copy' || step === 'sign' ? step : undefined;
  return step === 'publish' ? 'publish' : undefined;
}
