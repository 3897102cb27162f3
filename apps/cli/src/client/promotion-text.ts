import { AirlockError, ERROR_CODES, ErrorCode } from '@airlock/common';
import { ago, table } from './table';
import type { Promotion, StateChange } from './api-client';

const DONE = ['completed', 'exported', 'imported'];

/** A promotion as a person reads it (`airlock status ID`). */
export function describePromotion(v: Promotion): string {
  const lines = [
    `promotion ${v.id}: ${v.state}${v.error ? ` (${v.error.code})` : ''}`,
    `  image      ${v.source} -> ${v.target}`,
    `  digest     ${v.digest}`,
    ...platformLines(v, 11).trimEnd().split('\n').filter(Boolean),
    `  route      ${v.from} -> ${v.to}, requested by ${v.requester} ${ago(v.createdAt)} ago${v.reason ? `: ${v.reason}` : ''}`,
    `  approvals  ${v.approvals.length} of ${v.approvalsRequired}${v.approvals.length ? `: ${v.approvals.map((a) => `${a.approver}${a.comment ? ` (${a.comment})` : ''}`).join(', ')}` : ''}`,
  ];
  const steps = (v.steps ?? []).filter((s) => s.attempt === v.attempt);
  if (steps.length)
    lines.push(
      `  steps      ${steps.map((s) => `${s.name} ${s.state}${s.finishedAt ? ` ${((Date.parse(s.finishedAt) - Date.parse(s.startedAt)) / 1000).toFixed(2)} s` : ''}`).join(', ')}`,
    );
  if (v.progress.bytesTotal) lines.push(`  bytes      ${v.progress.bytesDone} of ${v.progress.bytesTotal}`);
  if (v.error) lines.push(`  error      ${v.error.code}: ${v.error.message}`);
  lines.push(...nextStep(v).map((l) => `  next       ${l}`));
  return lines.join('\n') + '\n';
}

/** The chosen platforms and the digest that lands, when only some platforms of an index are promoted (nothing otherwise). */
export function platformLines(v: Promotion, width = 7): string {
  if (!v.platforms) return '';
  const label = (s: string) => `  ${s.padEnd(width - 1)} `;
  return `${label('platforms')}${v.platforms.join(', ')}\n${label('lands as')}${v.targetDigest}\n`;
}

/** What a person can do next with a promotion, as the command to type. */
export function nextStep(v: Promotion): string[] {
  if (v.state === 'requested' && v.approvalsNeeded > 0)
    return [
      `needs ${v.approvalsNeeded} more approval${v.approvalsNeeded === 1 ? '' : 's'}: airlock approve ${v.id} (or airlock reject ${v.id} --reason ...)`,
    ];
  if (v.state === 'failed') return [`an admin may run it again: airlock retry ${v.id}`];
  if (v.state === 'exported') return ['waits for the bundle to be imported on the far side of the gap'];
  return [];
}

/** One line per state change, as `status --watch` and `--wait` print them. */
export function stateLine(c: StateChange): string {
  const extra = [c.step && `step ${c.step}`, c.code && `${c.code}: ${c.message ?? ''}`].filter(Boolean).join(', ');
  return `${c.at.slice(11, 19)}  ${c.from} -> ${c.to}${extra ? `  (${extra})` : ''}\n`;
}

/** Promotions as a table (`airlock promotions list`). */
export function promotionTable(items: Promotion[]): string {
  return table(
    ['ID', 'STATE', 'FROM', 'TO', 'AGE', 'IMAGE'],
    items.map((v) => [v.id, v.error ? `${v.state} (${v.error.code})` : v.state, v.from, v.to, ago(v.createdAt), v.source]),
  );
}

/** How a wait ends: quietly when the promotion went through, else as the error its outcome is (so the exit code says it). */
export function outcome(v: Promotion): void {
  if (DONE.includes(v.state)) return;
  if (v.state === 'failed' && v.error) {
    const code = (ERROR_CODES as readonly string[]).includes(v.error.code) ? (v.error.code as ErrorCode) : 'INTERNAL';
    throw new AirlockError(code, `promotion ${v.id} failed: ${v.error.message}`);
  }
  if (v.state === 'rejected') throw new AirlockError('PROMOTION_REJECTED', `promotion ${v.id} was rejected`);
  if (v.state === 'cancelled') throw new AirlockError('PROMOTION_CANCELLED', `promotion ${v.id} was cancelled`);
  throw new AirlockError('INTERNAL', `promotion ${v.id} is ${v.state}, not final`);
}
