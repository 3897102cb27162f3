import pino, { Logger, Level } from 'pino';
import { AirlockError } from './errors';

export const LOG_LEVELS: readonly Level[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

/** The level asked for: AIRLOCK_LOG_LEVEL (the CLI's `--log-level` sets it), else info; an unknown one is named, not guessed. */
export function logLevel(env: NodeJS.ProcessEnv = process.env): Level {
  const v = (env.AIRLOCK_LOG_LEVEL ?? 'info').trim().toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(v))
    throw new AirlockError(
      'INVALID_ARGUMENT',
      `log level ${JSON.stringify(v.slice(0, 20))} is not one of ${LOG_LEVELS.join(', ')} (--log-level or AIRLOCK_LOG_LEVEL)`,
    );
  return v as Level;
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const SKIP = new Set(['level', 'time', 'pid', 'hostname', 'msg']);

function fieldValue(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return typeof v === 'string' && /^[^\s"=]+$/.test(s) ? s : JSON.stringify(s.length > 200 ? `${s.slice(0, 200)}...` : v);
}

/** One pino JSON line as one line a person reads: `12:03:04.567 INFO  message key=value ...`, a stack (if any) below it. */
export function readableLine(json: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const t = new Date(typeof o.time === 'number' ? o.time : Date.now()).toISOString().slice(11, 23);
  const level = (LEVEL_NAMES[Number(o.level)] ?? String(o.level)).padEnd(5);
  const stack =
    typeof o.stack === 'string'
      ? o.stack
      : typeof (o.err as { stack?: unknown })?.stack === 'string'
        ? String((o.err as { stack: string }).stack)
        : '';
  const fields = Object.entries(o)
    .filter(([k, v]) => !SKIP.has(k) && k !== 'stack' && k !== 'err' && v !== undefined && v !== null)
    .map(([k, v]) => `${k}=${fieldValue(v)}`);
  return `${t} ${level} ${typeof o.msg === 'string' ? o.msg : JSON.stringify(o.msg ?? '')}${fields.length ? `  ${fields.join(' ')}` : ''}\n${stack ? `${stack}\n` : ''}`;
}

/**
 * The process's root logger, to standard error (what a command prints for
 * people stays on standard output): one readable line per event on a
 * terminal, pino's JSON lines elsewhere (files, journald, collectors);
 * AIRLOCK_LOG_FORMAT=json or text chooses either way.
 */
export function processLogger(o: { level?: Level; readable?: boolean } = {}): Logger {
  const level = o.level ?? logLevel();
  const format = process.env.AIRLOCK_LOG_FORMAT;
  const readable = o.readable ?? (format === 'text' || (format !== 'json' && process.stderr.isTTY === true));
  if (!readable) return pino({ level }, pino.destination({ dest: 2, sync: false }));
  return pino({ level }, { write: (line: string) => void process.stderr.write(readableLine(line)) });
}
