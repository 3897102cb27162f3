import { lazy } from './lazy';
import { CONFIG_OPTION } from './config-path';
import { localCore } from './local-core';
import { operator } from './operator';
import type { CommandOption } from './fast-args';

/** The flags of `airlock bundle import`, as the command and its fast path (fast-commands.ts) both read them. */
export interface ImportFlags {
  config?: string;
  receiptDir?: string;
}

export const IMPORT_OPTIONS: Record<keyof ImportFlags, CommandOption> = {
  config: CONFIG_OPTION,
  receiptDir: { flags: '--receipt-dir <dir>', description: 'where to write the signed receipt (default: the channel folder)' },
};

/** `airlock bundle import FILES...`: check everything, push, verify, re-sign, publish, and write a signed receipt. */
export async function runImport(files: string[], o: ImportFlags): Promise<void> {
  // the OpenPGP thread loads openpgp while this thread loads the libraries and the configuration (as inspect does)
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
