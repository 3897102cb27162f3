import { readFileSync } from 'node:fs';
import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { AirlockError } from '@airlock/common';
import { lazy } from './lazy';
import { CommandGroup } from './command-group';
import { CONFIG_HELP } from './config-path';
import { ProgressReporter } from './progress';
import { count } from './plural';
import { localCore } from './local-core';
import { INSPECT_OPTIONS, InspectFlags, runInspect } from './bundle-inspect';

const operator = () => ({ principal: { user: `cli:${process.env.USER ?? 'operator'}`, roles: ['operator' as const] } });

abstract class ConfigCommand extends CommandRunner {
  @Option({ flags: '--config <file>', description: CONFIG_HELP })
  parseConfig(v: string): string {
    return v;
  }
}

@SubCommand({
  name: 'export',
  description:
    'Write one bundle holding every verified promotion waiting on a channel (signed, encrypted when the channel says so, in volumes)',
})
export class BundleExportCommand extends ConfigCommand {
  async run(
    _p: string[],
    o: { channel?: string; out?: string; full?: boolean; resend?: true | string[]; config?: string; sequence?: number; volumes?: number[] },
  ): Promise<void> {
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
  @Option({ flags: '--channel <name>', description: 'the channel to export' })
  parseChannel(v: string): string {
    return v;
  }
  @Option({ flags: '--out <dir>', description: 'folder for the volumes (default: the channel folder)' })
  parseOut(v: string): string {
    return v;
  }
  @Option({ flags: '--full', description: 'carry every blob, even those receipts say the far side has' })
  parseFull(): boolean {
    return true;
  }
  @Option({ flags: '--sequence <n>', description: 'with --volumes: the bundle (of this channel) whose volumes to write again' })
  parseSequence(v: string): number {
    if (!/^[1-9][0-9]{0,8}$/.test(v))
      throw new AirlockError('INVALID_ARGUMENT', `--sequence takes a bundle's sequence number, not ${JSON.stringify(v)}`);
    return Number(v);
  }
  @Option({
    flags: '--volumes <list>',
    description:
      'write again these volumes (comma-separated numbers, e.g. 3,5) of the bundle --sequence names: lost or damaged media; same index and entries, new ciphertext',
  })
  parseVolumes(v: string): number[] {
    const list = v.split(',').map((x) => x.trim());
    if (!list.length || list.some((x) => !/^[1-9][0-9]{0,2}$/.test(x)))
      throw new AirlockError('INVALID_ARGUMENT', `--volumes takes volume numbers separated by commas (3,5), not ${JSON.stringify(v)}`);
    return list.map(Number);
  }
  @Option({
    flags: '--resend [ids]',
    description:
      'send again exported promotions no receipt confirmed: every one, or those named (comma-separated ids); the channel resends those older than resendAfterHours by itself',
  })
  parseResend(v?: string): true | string[] {
    return typeof v === 'string'
      ? v
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean)
      : true;
  }
}

@SubCommand({
  name: 'import',
  arguments: '<files...>',
  description:
    'Import a bundle (its .zip volumes; format 1: its volumes and *.volumes.json): check everything, push, verify, re-sign, publish, and write a signed receipt',
})
export class BundleImportCommand extends ConfigCommand {
  async run(files: string[], o: { config?: string; receiptDir?: string }): Promise<void> {
    lazy.bundleWarm().warmPgpThread();
    const l = await localCore(o.config);
    try {
      const r = await l.importer.import(operator(), files, { receiptDir: o.receiptDir });
      process.stdout.write(
        `bundle ${r.bundleId} sequence ${r.sequence} ${r.alreadyImported ? 'was already imported' : 'imported'}: ${r.images.map((i) => `${i.target}@${i.digest}`).join(', ')}\nreceipt: ${r.receipt}\n`,
      );
    } finally {
      await l.close();
    }
  }
  @Option({ flags: '--receipt-dir <dir>', description: 'where to write the signed receipt (default: the channel folder)' })
  parseReceiptDir(v: string): string {
    return v;
  }
}

@SubCommand({
  name: 'inspect',
  arguments: '<files...>',
  description:
    'Show what a bundle holds and whether it would import, without importing (format 2: reads the central directories and the index only)',
})
export class BundleInspectCommand extends ConfigCommand {
  async run(files: string[], o: InspectFlags): Promise<void> {
    await runInspect(files, o);
  }
  @Option(INSPECT_OPTIONS.verify)
  parseVerify(): boolean {
    return true;
  }
}

@SubCommand({
  name: 'receipt',
  arguments: '<action> <file>',
  description: 'receipt import FILE: on the low side, mark the promotions a receipt confirms as imported',
})
export class BundleReceiptCommand extends ConfigCommand {
  async run([action, file]: string[], o: { config?: string; channel?: string }): Promise<void> {
    if (action !== 'import' || !file) throw new AirlockError('INVALID_ARGUMENT', 'usage: airlock bundle receipt import FILE');
    const l = await localCore(o.config);
    try {
      const r = await lazy.promotion().importReceipt(l.db, l.audit, l.catalog, l.service, operator(), o.channel, readFileSync(file));
      process.stdout.write(
        `receipt for bundle ${r.bundleId}: ${count(r.promotions, 'promotion')} imported, ${count(r.blobs, 'blob')} confirmed\n`,
      );
    } finally {
      await l.close();
    }
  }
  @Option({ flags: '--channel <name>', description: 'the channel (default: whichever channel the receipt verifies for)' })
  parseChannel(v: string): string {
    return v;
  }
}

@Command({
  name: 'bundle',
  description: 'Air-gap transfer bundles: export, import, inspect, receipt',
  subCommands: [BundleExportCommand, BundleImportCommand, BundleInspectCommand, BundleReceiptCommand],
})
export class BundleCommand extends CommandGroup {}
