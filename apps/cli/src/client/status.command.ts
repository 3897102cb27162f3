import { Command, Option } from 'nest-commander';
import { AirlockError } from '@airlock/common';
import { lazy } from '../lazy';
import { ClientCommand, ClientFlags } from './client-command';
import { describePromotion, outcome } from './promotion-text';
import { followPromotion } from './watch';
import type { Promotion } from './api-client';

@Command({ name: 'status', arguments: '<id>', description: 'Show a promotion; --watch follows it live until it is final' })
export class StatusCommand extends ClientCommand {
  async run([id]: string[], o: ClientFlags & { watch?: boolean; until?: string }): Promise<void> {
    const client = this.client();
    if (o.until && !o.watch)
      throw new AirlockError('INVALID_ARGUMENT', '--until goes with --watch: airlock status ID --watch --until STATE');
    if (!o.watch) {
      const v = await client.json<Promotion>('GET', `/api/v1/promotions/${encodeURIComponent(id)}`);
      this.print(o, v, () => describePromotion(v));
      return;
    }
    const last = await followPromotion(client, id, { json: !!o.json, out: process.stdout, until: o.until });
    if (!o.json) process.stdout.write(describePromotion(last));
    if (last.state !== o.until) outcome(last);
  }
  @Option({
    flags: '--watch',
    description: 'print every state change as it happens until the promotion is final; the exit code says how it ended',
  })
  parseWatch(): boolean {
    return true;
  }
  @Option({
    flags: '--until <state>',
    description: 'with --watch: stop once the promotion reaches this state (exporting, for one bound for the air gap)',
  })
  parseUntil(v: string): string {
    // the lifecycle's own list (loaded only for --until: the client commands otherwise stay light)
    const { STATES } = lazy.promotion();
    if (!(STATES as readonly string[]).includes(v))
      throw new AirlockError('INVALID_ARGUMENT', `--until takes a state: ${STATES.join(', ')}`);
    return v;
  }
}
