import { Command, Option } from 'nest-commander';
import { AirlockError } from '@airlock/common';
import { ClientCommand, ClientFlags } from './client-command';
import { nextStep } from './promotion-text';
import type { Promotion } from './api-client';

/** A decision on one promotion (approve, reject, cancel, retry): one POST, the promotion's new state printed. */
abstract class DecisionCommand extends ClientCommand {
  protected abstract action: 'approve' | 'reject' | 'cancel' | 'retry';
  protected body(_o: DecisionFlags): object {
    return {};
  }
  async run([id]: string[], o: DecisionFlags): Promise<void> {
    const v = await this.client().json<Promotion>('POST', `/api/v1/promotions/${encodeURIComponent(id)}/${this.action}`, {
      body: this.body(o),
    });
    this.print(
      o,
      v,
      () =>
        `promotion ${v.id}: ${v.state}${v.state === 'requested' ? ` (${v.approvals.length} of ${v.approvalsRequired} approvals)` : ''}\n${nextStep(
          v,
        )
          .map((l) => `  next ${l}\n`)
          .join('')}`,
    );
  }
}

interface DecisionFlags extends ClientFlags {
  comment?: string;
  reason?: string;
}

@Command({ name: 'approve', arguments: '<id>', description: 'Approve a promotion (approvers; never your own request)' })
export class ApproveCommand extends DecisionCommand {
  protected action = 'approve' as const;
  protected override body(o: DecisionFlags): object {
    return o.comment ? { comment: o.comment } : {};
  }
  @Option({ flags: '--comment <text>', description: 'a note kept with the approval' })
  parseComment(v: string): string {
    return v;
  }
}

@Command({ name: 'reject', arguments: '<id>', description: 'Reject a promotion (approvers), with the reason the requester reads' })
export class RejectCommand extends DecisionCommand {
  protected action = 'reject' as const;
  protected override body(o: DecisionFlags): object {
    if (!o.reason) throw new AirlockError('INVALID_ARGUMENT', 'say why: airlock reject ID --reason TEXT');
    return { reason: o.reason };
  }
  @Option({ flags: '--reason <text>', description: 'why it is rejected (required)' })
  parseReason(v: string): string {
    return v;
  }
}

@Command({ name: 'cancel', arguments: '<id>', description: 'Cancel a promotion that has not run yet (its requester, or an admin)' })
export class CancelCommand extends DecisionCommand {
  protected action = 'cancel' as const;
}

@Command({ name: 'retry', arguments: '<id>', description: 'Run a failed promotion again (admins)' })
export class RetryCommand extends DecisionCommand {
  protected action = 'retry' as const;
}
