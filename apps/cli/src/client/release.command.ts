import { setTimeout as sleep } from 'node:timers/promises';
import { Command, Option, SubCommand } from 'nest-commander';
import { AirlockError, ERROR_CODES, ErrorCode } from '@airlock/common';
import { CommandGroup } from '../command-group';
import { ClientCommand, ClientFlags } from './client-command';
import { DecisionCommand } from './decision';
import type { ApiClient, Schemas } from './api-client';
import { readReleaseFile } from './release-file';
import { table } from './table';

type Release = Schemas['Release'];
const FINAL = ['completed', 'exported', 'failed', 'rejected', 'cancelled'];

/** A release as a person reads it: its state, then a line per image. */
function describeRelease(r: Release): string {
  const head = `release ${r.id} ${r.name}: ${r.state} (${r.from} -> ${r.to}, requested by ${r.requester}${r.reason ? `: ${r.reason}` : ''})\n`;
  const rows = r.images.map((i) => [
    i.promotionId,
    i.error ? `${i.state} (${i.error.code})` : i.state,
    i.progress.bytesTotal ? `${Math.floor((i.progress.bytesDone / i.progress.bytesTotal) * 100)}%` : '-',
    i.image,
  ]);
  const next =
    r.state === 'requested'
      ? `  next: airlock release approve ${r.id} (approves each image still requested)\n`
      : r.state === 'failed'
        ? `  next: an admin may run the failed images again: airlock release retry ${r.id}\n`
        : '';
  return head + table(['PROMOTION', 'STATE', 'COPIED', 'IMAGE'], rows) + next;
}

/** How a release ends for a wait: quietly when it went through, else as the error its images' outcome is. */
function releaseOutcome(r: Release): void {
  if (r.state === 'completed' || r.state === 'exported') return;
  if (r.state === 'rejected') throw new AirlockError('PROMOTION_REJECTED', `release ${r.name} was rejected`);
  if (r.state === 'cancelled') throw new AirlockError('PROMOTION_CANCELLED', `release ${r.name} was cancelled`);
  const failed = r.images.filter((i) => i.error);
  const first = failed[0]?.error?.code ?? 'INTERNAL';
  const code = (ERROR_CODES as readonly string[]).includes(first) ? (first as ErrorCode) : 'INTERNAL';
  throw new AirlockError(
    code,
    `release ${r.name} failed: ${failed.map((i) => `${i.image} ${i.error?.code}: ${i.error?.message}`).join('; ')}`,
  );
}

/** Polls a release until it is final (or reaches `until`), printing each image's state changes. */
async function followRelease(client: ApiClient, id: string, out: NodeJS.WritableStream): Promise<Release> {
  const seen = new Map<string, string>();
  for (;;) {
    const r = await client.json<Release>('GET', `/api/v1/releases/${encodeURIComponent(id)}`);
    for (const i of r.images) {
      if (seen.get(i.promotionId) !== i.state) {
        if (seen.has(i.promotionId))
          out.write(`${new Date().toISOString().slice(11, 19)}  ${i.image}: ${seen.get(i.promotionId)} -> ${i.state}\n`);
        seen.set(i.promotionId, i.state);
      }
    }
    if (FINAL.includes(r.state)) return r;
    await sleep(500);
  }
}

interface RequestFlags extends ClientFlags {
  file?: string;
  name?: string;
  from?: string;
  to?: string;
  reason?: string;
  wait?: boolean;
  quiet?: boolean;
}

@SubCommand({
  name: 'request',
  arguments: '[images...]',
  description: 'Request a release: the images of --file (YAML: name, from, to, reason, images) or those given with --name, --from and --to',
})
export class ReleaseRequestCommand extends ClientCommand {
  async run(images: string[], o: RequestFlags): Promise<void> {
    const body = o.file ? readReleaseFile(o.file) : { name: o.name ?? '', from: o.from ?? '', to: o.to ?? '', reason: o.reason, images };
    if (o.file && images.length) throw new AirlockError('INVALID_ARGUMENT', 'give either --file or images, not both');
    if (!body.name || !body.from || !body.to || !body.images.length)
      throw new AirlockError(
        'INVALID_ARGUMENT',
        'usage: airlock release request --file release.yaml, or IMAGE... --name NAME --from STAGE --to STAGE',
      );
    if (o.reason && o.file) body.reason = o.reason;
    const client = this.client();
    const r = await client.json<Release>('POST', '/api/v1/releases', { body });
    if (o.quiet && !o.wait && !o.json) return void process.stdout.write(`${r.id}\n`);
    if (!o.wait) return this.print(o, r, () => describeRelease(r));
    process.stderr.write(describeRelease(r));
    const last = await followRelease(client, r.id, process.stderr);
    this.print(o, last, () => describeRelease(last));
    releaseOutcome(last);
  }
  @Option({ flags: '--file <file>', description: 'the release file (YAML or JSON)' })
  parseFile(v: string): string {
    return v;
  }
  @Option({ flags: '--name <name>', description: 'the release name (shop-1.4)' })
  parseName(v: string): string {
    return v;
  }
  @Option({ flags: '--from <stage>', description: 'the stage the images are in' })
  parseFrom(v: string): string {
    return v;
  }
  @Option({ flags: '--to <stage>', description: 'the stage they go to' })
  parseTo(v: string): string {
    return v;
  }
  @Option({ flags: '--reason <text>', description: 'why (shown to approvers, kept in the audit trail)' })
  parseReason(v: string): string {
    return v;
  }
  @Option({ flags: '--wait', description: 'wait until the release is final; the exit code says how it ended' })
  parseWait(): boolean {
    return true;
  }
  @Option({ flags: '-q, --quiet', description: 'print only the release id' })
  parseQuiet(): boolean {
    return true;
  }
}

@SubCommand({
  name: 'status',
  arguments: '<id>',
  description: "A release: its state and each image's; --watch follows it until it is final",
})
export class ReleaseStatusCommand extends ClientCommand {
  async run([id]: string[], o: ClientFlags & { watch?: boolean }): Promise<void> {
    const client = this.client();
    const r = o.watch
      ? await followRelease(client, id, process.stdout)
      : await client.json<Release>('GET', `/api/v1/releases/${encodeURIComponent(id)}`);
    this.print(o, r, () => describeRelease(r));
    if (o.watch) releaseOutcome(r);
  }
  @Option({ flags: '--watch', description: 'print each image state change until the release is final; the exit code says how it ended' })
  parseWatch(): boolean {
    return true;
  }
}

@SubCommand({ name: 'list', description: 'The latest releases, newest first' })
export class ReleaseListCommand extends ClientCommand {
  async run(_p: string[], o: ClientFlags): Promise<void> {
    const page = await this.client().json<Schemas['ReleaseList']>('GET', '/api/v1/releases');
    this.print(o, page, () =>
      page.items.length
        ? table(
            ['ID', 'NAME', 'STATE', 'FROM', 'TO', 'IMAGES'],
            page.items.map((r) => [r.id, r.name, r.state, r.from, r.to, String(r.images.length)]),
          )
        : 'no releases\n',
    );
  }
}

/** A decision on every image of a release it applies to. */
abstract class ReleaseDecision extends DecisionCommand<Release> {
  protected resource = 'releases' as const;
  protected get usage(): string {
    return `airlock release ${this.action}`;
  }
  protected render(r: Release): string {
    return describeRelease(r);
  }
}

@SubCommand({ name: 'approve', arguments: '<id>', description: 'Approve every image of the release still requested (approvers)' })
export class ReleaseApproveCommand extends ReleaseDecision {
  protected action = 'approve' as const;
  @Option({ flags: '--comment <text>', description: 'a note kept with each approval' })
  parseComment(v: string): string {
    return v;
  }
}

@SubCommand({ name: 'reject', arguments: '<id>', description: 'Reject the release (approvers), with the reason the requester reads' })
export class ReleaseRejectCommand extends ReleaseDecision {
  protected action = 'reject' as const;
  @Option({ flags: '--reason <text>', description: 'why (required)' })
  parseReason(v: string): string {
    return v;
  }
}

@SubCommand({ name: 'cancel', arguments: '<id>', description: 'Cancel every image of the release not yet running' })
export class ReleaseCancelCommand extends ReleaseDecision {
  protected action = 'cancel' as const;
}

@SubCommand({ name: 'retry', arguments: '<id>', description: 'Run again the images that failed, and only those (admins)' })
export class ReleaseRetryCommand extends ReleaseDecision {
  protected action = 'retry' as const;
}

/** The `release` commands, listed once for the group and the module. */
export const RELEASE_SUBCOMMANDS = [
  ReleaseRequestCommand,
  ReleaseStatusCommand,
  ReleaseListCommand,
  ReleaseApproveCommand,
  ReleaseRejectCommand,
  ReleaseCancelCommand,
  ReleaseRetryCommand,
];

@Command({
  name: 'release',
  description: 'Releases on a running airlock: many images, one decision (request, status, list, approve, reject, cancel, retry)',
  subCommands: RELEASE_SUBCOMMANDS,
})
export class ReleaseCommand extends CommandGroup {}
