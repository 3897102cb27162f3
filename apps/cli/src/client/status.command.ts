import { Command, Option } from 'nest-commander';
import type { PromotionView } from '@airlock/promotion';
import { ClientCommand, ClientFlags } from './client-command';
import { describePromotion, outcome } from './promotion-text';
import { followPromotion } from './watch';

@Command({ name: 'status', arguments: '<id>', description: 'Show a promotion; --watch follows it live until it is final' })
export class StatusCommand extends ClientCommand {
  async run([id]: string[], o: ClientFlags & { watch?: boolean }): Promise<void> {
    const client = this.client();
    if (!o.watch) {
      const v = await client.json<PromotionView>('GET', `/api/v1/promotions/${encodeURIComponent(id)}`);
      this.print(o, v, () => describePromotion(v));
      return;
    }
    const last = await followPromotion(client, id, { json: !!o.json, out: process.stdout });
    if (!o.json) process.stdout.write(describePromotion(last));
    outcome(last);
  }
  @Option({
    flags: '--watch',
    description: 'print every state change as it happens until the promotion is final; the exit code says how it ended',
  })
  parseWatch(): boolean {
    return true;
  }
}
