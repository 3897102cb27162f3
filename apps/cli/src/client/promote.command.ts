import { Command, Option } from 'nest-commander';
import { AirlockError } from '@airlock/common';
import { ClientCommand, ClientFlags } from './client-command';
import { describePromotion, nextStep, outcome, platformLines } from './promotion-text';
import { followPromotion } from './watch';
import type { Promotion } from './api-client';

interface PromoteFlags extends ClientFlags {
  from?: string;
  to?: string;
  reason?: string;
  wait?: boolean;
  quiet?: boolean;
  platform?: string[];
}

@Command({
  name: 'promote',
  arguments: '<image>',
  description: 'Request a promotion of IMAGE from one stage to the next (the tag is resolved to its digest now)',
})
export class PromoteCommand extends ClientCommand {
  async run([image]: string[], o: PromoteFlags): Promise<void> {
    if (!o.from || !o.to)
      throw new AirlockError('INVALID_ARGUMENT', 'say where from and where to: airlock promote IMAGE --from STAGE --to STAGE');
    const client = this.client();
    const v = await client.json<Promotion>('POST', '/api/v1/promotions', {
      body: { image, from: o.from, to: o.to, reason: o.reason ?? '', ...(o.platform ? { platforms: o.platform } : {}) },
    });
    if (o.quiet && !o.wait && !o.json) {
      process.stdout.write(`${v.id}\n`);
      return;
    }
    if (!o.wait) {
      this.print(
        o,
        v,
        () =>
          `promotion ${v.id} requested: ${v.source} -> ${v.target}\n  digest ${v.digest}\n${platformLines(v)}${nextStep(v)
            .map((l) => `  next   ${l}\n`)
            .join('')}`,
      );
      return;
    }
    process.stderr.write(
      `promotion ${v.id} requested: ${v.source} -> ${v.target}\n${nextStep(v)
        .map((l) => `  ${l}\n`)
        .join('')}`,
    );
    const last = await followPromotion(client, v.id, { json: false, out: process.stderr });
    this.print(o, last, () => describePromotion(last));
    outcome(last);
  }
  @Option({ flags: '--from <stage>', description: 'the stage the image is in' })
  parseFrom(v: string): string {
    return v;
  }
  @Option({ flags: '--to <stage>', description: 'the stage it goes to' })
  parseTo(v: string): string {
    return v;
  }
  @Option({ flags: '--reason <text>', description: 'why (recorded in the audit trail, shown to approvers)' })
  parseReason(v: string): string {
    return v;
  }
  @Option({
    flags: '--platform <os/arch>',
    description: 'only this platform of a multi-platform image (repeat for more); the target gets an index of those, with its own digest',
  })
  parsePlatform(v: string, before: string[] = []): string[] {
    return [...before, v];
  }
  @Option({ flags: '-q, --quiet', description: 'print only the promotion id (for ID=$(airlock promote ...))' })
  parseQuiet(): boolean {
    return true;
  }
  @Option({ flags: '--wait', description: 'wait until it is final, printing each state change; the exit code says how it ended' })
  parseWait(): boolean {
    return true;
  }
}
