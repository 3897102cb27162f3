import { logLevel } from '@airlock/common';

/**
 * Takes `--log-level L` (or `--log-level=L`) out of the arguments, wherever it
 * stands, into AIRLOCK_LOG_LEVEL, which every logger of the process reads.
 */
export function takeLogLevel(argv: string[], env: NodeJS.ProcessEnv = process.env): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (a === '--log-level' && i + 1 < argv.length) env.AIRLOCK_LOG_LEVEL = argv[++i];
    else if (a.startsWith('--log-level=')) env.AIRLOCK_LOG_LEVEL = a.slice('--log-level='.length);
    else out.push(a);
  }
  if (env.AIRLOCK_LOG_LEVEL !== undefined) logLevel(env);
  return out;
}
