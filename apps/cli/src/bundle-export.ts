import { AirlockError } from '@airlock/common';
import { CONFIG_OPTION } from './config-path';
import { localCore } from './local-core';
import { count } from './plural';
import { ProgressReporter } from './progress';
import { operator } from './operator';
import type { CommandOption } from './fast-args';

/** The flags of `airlock bundle export`, as the command and its fast path (fast-commands.ts) both read them; --resend (whose value is optional) only the command reads. */
export interface ExportFlags {
  channel?: string;
  out?: string;
  full?: boolean;
  config?: string;
  sequence?: number;
  volumes?: number[];
}

export function parseSequence(v: string): number {
  if (!/^[1-9][0-9]{0,8}$/.test(v))
    throw new AirlockError('INVALID_ARGUMENT', `--sequence takes a bundle's sequence number, not ${JSON.stringify(v)}`);
  return Number(v);
}

export function parseVolumes(v: string): number[] {
  const list = v.split(',').map((x) => x.trim());
  if (!list.length || list.some((x) => !/^[1-9][0-9]{0,2}$/.test(x)))
    throw new AirlockError('INVALID_ARGUMENT', `--volumes takes volume numbers separated by commas (3,5), not ${JSON.stringify(v)}`);
  return list.map(Number);
}

export const EXPORT_OPTIONS: Record<keyof ExportFlags, CommandOption> = {
  channel: { flags: '--channel <name>', description: 'the channel to export' },
  out: { flags: '--out <dir>', description: 'folder for the volumes (default: the channel folder)' },
  full: { flags: '--full', description: 'carry every blob, even those receipts say the far side has' },
  config: CONFIG_OPTION,
  sequence: {
    flags: '--sequence <n>',
    description: 'with --volumes: the bundle (of this channel) whose volumes to write again',
    parse: parseSequence,
  },
  volumes: {
    flags: '--volumes <list>',
    description:
      'write again these volumes (comma-separated numbers, e.g. 3,5) of the bundle --sequence names: lost or damaged media; same index and entries, new ciphertext',
    parse: parseVolumes,
  },
};

/**
 * `airlock bundle export --channel C`: one bundle of every verified
 * promotion waiting on the channel; with --sequence N --volumes LIST, those
 * volumes of an earlier bundle written again.
 */
export async function runExport(_params: string[], o: ExportFlags & { resend?: true | string[] }): Promise<void> {
  if (!o.channel) throw new AirlockError('INVALID_ARGUMENT', '--channel NAME is required');
  if ((o.sequence === undefined) !== (o.volumes === undefined))
    throw new AirlockError(
      'INVALID_ARGUMENT',
      '--sequence N and --volumes LIST go together: they write again volumes of a bundle exported before',
    );
  if (o.volumes && (o.full || o.resend || o.out))
    throw new AirlockError(
      'INVALID_ARGUMENT',
      '--volumes writes volumes of an earlier bundle again, as they were; --full, --resend and --out are for a new bundle',
    );
  const l = await localCore(o.config);
  if (o.volumes) {
    try {
      const r = await l.exporter.rewriteVolumes(operator(), o.channel, o.sequence as number, o.volumes);
      process.stdout.write(`bundle ${r.bundleId} sequence ${o.sequence}: ${count(r.volumes.length, 'volume')} written again\n`);
      for (const v of r.volumes) process.stdout.write(`${r.dir}/${v.name}\n`);
    } finally {
      await l.close();
    }
    return;
  }
  const progress = new ProgressReporter('exporting');
  try {
    const r = await l.exporter.export(operator(), o.channel, {
      full: o.full,
      resend: o.resend,
      outDir: o.out,
      onProgress: (d, t) => progress.update(d, t),
    });
    progress.stop();
    process.stdout.write(
      `bundle ${r.bundleId} sequence ${r.sequence}: ${count(r.images, 'image')}${r.resent ? ` (${r.resent} sent again)` : ''}, ${count(r.volumes.length, 'volume')}, ${(r.bytes / 2 ** 20).toFixed(1)} MiB${r.blobsLeftOut ? `, ${count(r.blobsLeftOut, 'blob')} left out (the far side has them)` : ''}\n`,
    );
    for (const v of r.volumes) process.stdout.write(`${r.dir}/${v.name}\n`);
    // format 1's volume index travels with the volumes; format 2's plan stays on this side (for --volumes)
    if (r.indexFile.endsWith('.volumes.json')) process.stdout.write(`${r.indexFile}\n`);
  } finally {
    progress.stop();
    await l.close();
  }
}
