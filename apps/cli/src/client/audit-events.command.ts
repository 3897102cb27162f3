import { Option, SubCommand } from 'nest-commander';
import { ClientCommand, ClientFlags } from './client-command';
import { table } from './table';
import type { Schemas } from './api-client';

interface EventFlags extends ClientFlags {
  action?: string;
  actor?: string;
  image?: string;
  promotion?: string;
  stage?: string;
  since?: string;
  until?: string;
  limit?: number;
}

/** What an event says beyond its columns, in a few words. */
function summary(e: Schemas['AuditEvent']): string {
  const d = e.details;
  const text = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
  if (e.action === 'promotion.state') return `${text(d.from)} -> ${text(d.to)}${d.code ? ` ${text(d.code)}` : ''}`;
  return Object.entries(d)
    .filter(([, v]) => v !== null && v !== undefined && typeof v !== 'object')
    .slice(0, 3)
    .map(([k, v]) => `${k}=${text(v)}`)
    .join(' ');
}

@SubCommand({ name: 'events', description: 'Query the audit trail of a running airlock (auditors): filters combine, oldest first' })
export class AuditEventsCommand extends ClientCommand {
  async run(_p: string[], o: EventFlags): Promise<void> {
    const page = await this.client().json<{ items: Schemas['AuditEvent'][]; nextCursor: string | null }>('GET', '/api/v1/audit/events', {
      query: {
        action: o.action,
        actor: o.actor,
        image: o.image,
        promotionId: o.promotion,
        stage: o.stage,
        since: o.since,
        until: o.until,
        limit: o.limit ?? 100,
      },
    });
    this.print(o, page, () =>
      page.items.length
        ? table(
            ['SEQ', 'TIME', 'ACTOR', 'ACTION', 'PROMOTION', 'WHAT'],
            page.items.map((e) => [String(e.seq), e.time.slice(0, 19), e.actor, e.action, e.promotionId ?? '-', summary(e)]),
          )
        : 'no events match\n',
    );
  }
  @Option({ flags: '--action <name>', description: 'one action (airlock audit actions are listed at GET /api/v1/audit/actions)' })
  parseAction(v: string): string {
    return v;
  }
  @Option({ flags: '--actor <user>', description: 'who acted' })
  parseActor(v: string): string {
    return v;
  }
  @Option({ flags: '--image <ref>', description: 'a repository or a full reference' })
  parseImage(v: string): string {
    return v;
  }
  @Option({ flags: '--promotion <id>', description: 'one promotion' })
  parsePromotion(v: string): string {
    return v;
  }
  @Option({ flags: '--stage <stage>', description: 'one stage' })
  parseStage(v: string): string {
    return v;
  }
  @Option({ flags: '--since <time>', description: 'from this ISO 8601 time' })
  parseSince(v: string): string {
    return v;
  }
  @Option({ flags: '--until <time>', description: 'before this ISO 8601 time' })
  parseUntil(v: string): string {
    return v;
  }
  @Option({ flags: '--limit <n>', description: 'at most this many (1-1000, default 100)' })
  parseLimit(v: string): number {
    return Number(v);
  }
}
