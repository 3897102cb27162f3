import { AirlockError } from '@airlock/common';
import { ClientCommand, ClientFlags } from './client-command';

export interface DecisionFlags extends ClientFlags {
  comment?: string;
  reason?: string;
}

/**
 * A decision on a promotion or a release (approve, reject, cancel, retry):
 * one POST to `/api/v1/<resource>/<id>/<action>`, the new state printed.
 * Approve takes an optional comment; reject needs its reason.
 */
export abstract class DecisionCommand<T> extends ClientCommand {
  protected abstract action: 'approve' | 'reject' | 'cancel' | 'retry';
  protected abstract resource: 'promotions' | 'releases';
  /** The command as a person types it, for the message when reject has no reason. */
  protected abstract usage: string;
  protected abstract render(v: T): string;

  async run([id]: string[], o: DecisionFlags): Promise<void> {
    if (this.action === 'reject' && !o.reason) throw new AirlockError('INVALID_ARGUMENT', `say why: ${this.usage} ID --reason TEXT`);
    const body = this.action === 'approve' && o.comment ? { comment: o.comment } : this.action === 'reject' ? { reason: o.reason } : {};
    const v = await this.client().json<T>('POST', `/api/v1/${this.resource}/${encodeURIComponent(id)}/${this.action}`, { body });
    this.print(o, v, () => this.render(v));
  }
}
