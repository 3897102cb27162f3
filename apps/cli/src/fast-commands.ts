import { reportFailure } from './exit-codes';
import { takeLogLevel } from './log-level-arg';
import { COPY_OPTIONS, CopyFlags } from './copy-options';
import { lazy } from './lazy';
import { CommandOption, parseFastArgs } from './fast-args';
import { INSPECT_OPTIONS, InspectFlags, runInspect } from './bundle-inspect';
import { EXPORT_OPTIONS, ExportFlags, runExport } from './bundle-export';
import { IMPORT_OPTIONS, ImportFlags, runImport } from './bundle-import';

interface FastCommand<F> {
  options: Record<keyof F & string, CommandOption>;
  positionals: { min: number; max: number };
  run(params: string[], flags: F): Promise<void>;
}
const fast = <F>(c: FastCommand<F>) => c as unknown as FastCommand<Record<string, unknown>>;

/**
 * Commands that run without loading NestJS and nest-commander (about a
 * quarter of a second at every start): a copy, which people run in loops;
 * `bundle inspect`, which an operator runs on each medium before an
 * import; `bundle export` and `bundle import`, whose start is part of every
 * transfer and of every import run again after a stop. Each reads the same
 * option table as its NestJS command and runs the same function; anything
 * the table does not cover (export's --resend) goes to the full command
 * line.
 */
const FAST: Record<string, FastCommand<Record<string, unknown>>> = {
  copy: fast<CopyFlags>({
    options: COPY_OPTIONS,
    positionals: { min: 0, max: 2 },
    run: (params, flags) => lazy.copyRun().runCopy(params, flags), // the registry client loads for a copy, not for an inspect
  }),
  'bundle inspect': fast<InspectFlags>({
    options: INSPECT_OPTIONS,
    positionals: { min: 1, max: Infinity },
    run: runInspect,
  }),
  'bundle export': fast<ExportFlags>({
    options: EXPORT_OPTIONS,
    positionals: { min: 0, max: 0 },
    run: runExport,
  }),
  'bundle import': fast<ImportFlags>({
    options: IMPORT_OPTIONS,
    positionals: { min: 1, max: Infinity },
    run: runImport,
  }),
};

/** The name of a fast command the arguments start with, and the rest of them. */
function commandOf(args: string[]): { name: string; rest: string[] } | undefined {
  for (const words of [2, 1]) {
    const name = args.slice(0, words).join(' ');
    if (FAST[name]) return { name, rest: args.slice(words) };
  }
  return undefined;
}

/**
 * Runs `args` (the command line after the program) on its fast path; false
 * when the full command line must handle it. `--log-level L`, wherever it
 * stands, sets the level first, as on the full command line.
 */
export async function runFast(args: string[]): Promise<boolean> {
  let rest: string[];
  try {
    rest = takeLogLevel(args);
  } catch {
    return false; // a level that is not one: the full command line says so
  }
  const c = commandOf(rest);
  if (!c) return false;
  try {
    const call = parseFastArgs<Record<string, unknown>>(FAST[c.name].options, c.rest, FAST[c.name].positionals);
    if (!call) return false;
    await FAST[c.name].run(call.params, call.flags);
  } catch (e) {
    reportFailure(e);
  }
  return true;
}
