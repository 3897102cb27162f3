import { Command, Option } from 'nest-commander';
import { DecisionCommand } from './decision';
import { nextStep } from './promotion-text';
import type { Promotion } from './api-client';

/** A decision on one promotion: its new state, and what comes next. */
abstract class PromotionDecision extends DecisionCommand<Promotion> {
  protected resource = 'promotions' as const;
  protected get usage(): string {
    return `airlock ${this.action}`;
  }
  protected render(v: Promotion): string {
    const approvals = v.state === 'requested' ? ` (${v.approvals.length} of ${v.approvalsRequired} approvals)` : '';
    return `promotion ${v.id}: ${v.state}${approvals}\n${nextStep(v)
      .map((l) => `  next ${l}\n`)
      .join('')}`;
  }
}

@Command({ name: 'approve', arguments: '<id>', description: 'Approve a promotion (approvers; never your own request)' })
export class ApproveCommand extends PromotionDecision {
  protected action = 'approve' as const;
  @Option({ flags: '--comment <text>', description: 'a note kept with the approval' })
  parseComment(v: string): string {
    return v;
  }
}

@Command({ name: 'reject', arguments: '<id>', description: 'Reject a promotion (approvers), with the reason the requester reads' })
export class RejectCommand extends PromotionDecision {
  protected action = 'reject' as const;
  @Option({ flags: '--reason <text>', description: 'why it is rejected (required)' })
  parseReason(v: string): string {
    return v;
  }
}

@Command({ name: 'cancel', arguments: '<id>', description: 'Cancel a promotion that has not run yet (its requester, or an admin)' })
export class CancelCommand extends PromotionDecision {
  protected action = 'cancel' as const;
}

@Command({ name: 'retry', arguments: '<id>', description: 'Run a failed promotion again (admins)' })
export class RetryCommand extends PromotionDecision {
  protected action = 'retry' as const;
}
