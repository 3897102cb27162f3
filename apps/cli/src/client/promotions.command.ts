import { Command, Option, SubCommand } from 'nest-commander';
import { CommandGroup } from '../command-group';
import { ClientCommand, ClientFlags } from './client-command';
import { promotionTable } from './promotion-text';
import type { Promotion } from './api-client';

interface ListFlags extends ClientFlags {
  state?: string;
  stage?: string;
  image?: string;
  requester?: string;
  limit?: number;
}

@SubCommand({ name: 'list', description: 'List promotions, newest first (filters combine)' })
export class PromotionsListCommand extends ClientCommand {
  async run(_p: string[], o: ListFlags): Promise<void> {
    const page = await this.client().json<{ items: Promotion[]; nextCursor: string | null }>('GET', '/api/v1/promotions', {
      query: { state: o.state, stage: o.stage, image: o.image, requester: o.requester, limit: o.limit ?? 50 },
    });
    this.print(o, page, () => (page.items.length ? promotionTable(page.items) : 'no promotions match\n'));
  }
  @Option({ flags: '--state <state>', description: 'only in this state (requested, completed, failed, ...)' })
  parseState(v: string): string {
    return v;
  }
  @Option({ flags: '--stage <stage>', description: 'only from or to this stage' })
  parseStage(v: string): string {
    return v;
  }
  @Option({ flags: '--image <ref>', description: 'only of this repository or reference' })
  parseImage(v: string): string {
    return v;
  }
  @Option({ flags: '--requester <user>', description: 'only requested by this user' })
  parseRequester(v: string): string {
    return v;
  }
  @Option({ flags: '--limit <n>', description: 'at most this many (1-200, default 50)' })
  parseLimit(v: string): number {
    return Number(v);
  }
}

@Command({ name: 'promotions', description: 'Promotions on a running airlock (list)', subCommands: [PromotionsListCommand] })
export class PromotionsCommand extends CommandGroup {}
