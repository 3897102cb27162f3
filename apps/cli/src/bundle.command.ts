import { readFileSync } from 'node:fs';
import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { AirlockError } from '@airlock/common';
import { lazy } from './lazy';
import { CommandGroup } from './command-group';
import { CONFIG_OPTION } from './config-path';
import { count } from './plural';
import { localCore } from './local-core';
import { INSPECT_OPTIONS, InspectFlags, runInspect } from './bundle-inspect';
import { EXPORT_OPTIONS, ExportFlags, parseSequence, parseVolumes, runExport } from './bundle-export';
import { IMPORT_OPTIONS, ImportFlags, runImport } from './bundle-import';
import { operator } from './operator';

abstract class ConfigCommand extends CommandRunner {
  @Option(CONFIG_OPTION)
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
  async run(params: string[], o: ExportFlags & { resend?: true | string[] }): Promise<void> {
    await runExport(params, o);
  }
  @Option(EXPORT_OPTIONS.channel)
  parseChannel(v: string): string {
    return v;
  }
  @Option(EXPORT_OPTIONS.out)
  parseOut(v: string): string {
    return v;
  }
  @Option(EXPORT_OPTIONS.full)
  parseFull(): boolean {
    return true;
  }
  @Option(EXPORT_OPTIONS.sequence)
  parseSequence(v: string): number {
    return parseSequence(v);
  }
  @Option(EXPORT_OPTIONS.volumes)
  parseVolumes(v: string): number[] {
    return parseVolumes(v);
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
  async run(files: string[], o: ImportFlags): Promise<void> {
    await runImport(files, o);
  }
  @Option(IMPORT_OPTIONS.receiptDir)
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
