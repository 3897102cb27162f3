import { parseArgs } from 'node:util';
import { COPY_OPTIONS, CopyFlags } from './copy-options';
import { runCopy } from './copy-run';
import { reportFailure } from './exit-codes';

/**
 * The flags of `airlock copy ARGS`, read with node's own parser from the
 * same option table the command declares; undefined when the full command
 * line should answer instead (help, an unknown or malformed option, extra
 * arguments), so usage errors read the same either way.
 */
export function parseCopyArgs(args: string[]): { params: string[]; flags: CopyFlags } | undefined {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  const keyOf: Record<string, keyof CopyFlags> = {};
  for (const [key, o] of Object.entries(COPY_OPTIONS) as [keyof CopyFlags, (typeof COPY_OPTIONS)[keyof CopyFlags]][]) {
    const m = /^(?:-(\w), )?--([a-z-]+)( <\w+>)?$/.exec(o.flags);
    if (!m) return undefined;
    options[m[2]] = m[1] ? { type: m[3] ? 'string' : 'boolean', short: m[1] } : { type: m[3] ? 'string' : 'boolean' };
    keyOf[m[2]] = key;
  }
  if (args.includes('--help') || args.includes('-h')) return undefined;
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch {
    return undefined;
  }
  if (parsed.positionals.length > 2) return undefined;
  const flags: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(parsed.values)) {
    const key = keyOf[name];
    const parse = COPY_OPTIONS[key].parse;
    // --no-X sets X to false, as commander reads it
    flags[key] = name.startsWith('no-') ? false : parse ? parse(String(v)) : v;
  }
  return { params: parsed.positionals, flags: flags };
}

/**
 * `airlock copy` without loading NestJS and nest-commander, which cost a
 * quarter of a second at every start: bin/airlock.js comes here first for
 * `copy`. Returns false when the full command line must handle the call.
 */
export async function fastCopy(args: string[]): Promise<boolean> {
  try {
    const call = parseCopyArgs(args);
    if (!call) return false;
    await runCopy(call.params, call.flags);
  } catch (e) {
    reportFailure(e);
  }
  return true;
}
