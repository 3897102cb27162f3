import { parseArgs } from 'node:util';

/** One option: commander's flags string, its help line and, for a value that must be checked, how it is read. */
export interface CommandOption {
  flags: string;
  description: string;
  parse?: (v: string) => unknown;
}

/**
 * The arguments of a command read with node's own parser from the option
 * table its NestJS command declares too; undefined when the full command
 * line should answer instead (help, an unknown or malformed option, too few
 * or too many arguments), so usage errors read the same either way.
 */
export function parseFastArgs<F>(
  table: Record<keyof F & string, CommandOption>,
  args: string[],
  positionals: { min: number; max: number },
): { params: string[]; flags: F } | undefined {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  const keyOf: Record<string, keyof F & string> = {};
  for (const [key, o] of Object.entries(table) as [keyof F & string, CommandOption][]) {
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
  if (parsed.positionals.length < positionals.min || parsed.positionals.length > positionals.max) return undefined;
  const flags: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(parsed.values)) {
    const key = keyOf[name];
    const parse = table[key].parse;
    // --no-X sets X to false, as commander reads it
    flags[key] = name.startsWith('no-') ? false : parse ? parse(String(v)) : v;
  }
  return { params: parsed.positionals, flags: flags as F };
}
