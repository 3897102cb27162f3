import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { AirlockError } from '@airlock/common';

/** Which airlock the client commands talk to, with whose token, and where that was found (for messages). */
export interface ServerContext {
  url: string;
  token: string;
  from: string;
}

/** The context file `airlock login` writes: AIRLOCK_CONTEXT, else $XDG_CONFIG_HOME/airlock/context.json, else ~/.config/airlock/context.json. */
export function contextFile(env: NodeJS.ProcessEnv = process.env): string {
  if (env.AIRLOCK_CONTEXT) return env.AIRLOCK_CONTEXT;
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'airlock', 'context.json');
}

/** A server URL as the client uses it: http(s), no trailing slash, nothing after the origin but a path prefix. */
export function normalizeServerUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new AirlockError('INVALID_ARGUMENT', `${JSON.stringify(raw.slice(0, 100))} is not a URL (for example http://127.0.0.1:8080)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new AirlockError('INVALID_ARGUMENT', `the server URL must be http:// or https://, not ${u.protocol}`);
  if (u.search || u.hash || u.username)
    throw new AirlockError('INVALID_ARGUMENT', 'the server URL takes no query, fragment or credentials');
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
}

/**
 * The server and token, as gh, kubectl and vault find theirs: AIRLOCK_URL and
 * AIRLOCK_TOKEN when set (each alone overrides its half of the file), else
 * the context file. Nothing found is a usage error saying what to do.
 */
export function resolveContext(env: NodeJS.ProcessEnv = process.env): ServerContext {
  const file = contextFile(env);
  let saved: { url?: unknown; token?: unknown } = {};
  let fromFile = false;
  try {
    saved = JSON.parse(readFileSync(file, 'utf8')) as typeof saved;
    fromFile = true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new AirlockError('INVALID_ARGUMENT', `cannot read the context file ${file}: ${(e as Error).message}; run airlock login again`);
  }
  const url = env.AIRLOCK_URL || (typeof saved.url === 'string' ? saved.url : '');
  const token = env.AIRLOCK_TOKEN || (typeof saved.token === 'string' ? saved.token : '');
  if (!url || !token)
    throw new AirlockError(
      'INVALID_ARGUMENT',
      `no airlock server to talk to: ${fromFile ? `${file} lacks a ${url ? 'token' : 'url'}` : `no ${file}`} and AIRLOCK_URL/AIRLOCK_TOKEN are not both set; run airlock login URL (the sandbox banner prints the line)`,
    );
  const from = env.AIRLOCK_URL && env.AIRLOCK_TOKEN ? 'AIRLOCK_URL and AIRLOCK_TOKEN' : fromFile ? file : 'the environment';
  return { url: normalizeServerUrl(url), token, from };
}

/** Writes the context file readable by its owner only (0600), replacing any earlier one at once. */
export function saveContext(ctx: { url: string; token: string; user: string }, env: NodeJS.ProcessEnv = process.env): string {
  const file = contextFile(env);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ url: ctx.url, token: ctx.token, user: ctx.user }, null, 2) + '\n', { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
  return file;
}
