import { readFileSync } from 'node:fs';
import { Sensitive } from '@airlock/common';

/** Registry credentials. The secret half is always wrapped so it cannot be logged. */
export interface Credentials {
  username: string;
  password: Sensitive<string>;
}

/** Finds credentials for a registry host. */
export type CredentialResolver = (registry: string) => Credentials | undefined;

/** A parsed WWW-Authenticate challenge. */
export interface Challenge {
  scheme: 'basic' | 'bearer';
  params: Record<string, string>;
}

/** Parses `Bearer realm="…",service="…",scope="…"` (and Basic) challenges. */
export function parseChallenge(header: string | string[] | undefined): Challenge | undefined {
  const h = Array.isArray(header) ? header.find((x) => /^\s*(bearer|basic)\b/i.test(x)) : header;
  if (!h) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/s.exec(h);
  if (!m) return undefined;
  const scheme = m[1].toLowerCase();
  if (scheme !== 'basic' && scheme !== 'bearer') return undefined;
  const params: Record<string, string> = {};
  const re = /([a-zA-Z_][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/g;
  let p: RegExpExecArray | null;
  while ((p = re.exec(m[2])) !== null) params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3];
  return { scheme, params };
}

/** `Basic` header value for credentials. */
export function basicAuthorization(c: Credentials): string {
  return 'Basic ' + Buffer.from(`${c.username}:${c.password.reveal()}`).toString('base64');
}

function envKey(registry: string): string {
  return 'AIRLOCK_CREDS_' + registry.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

function parseUserPass(v: string): Credentials | undefined {
  const i = v.indexOf(':');
  if (i <= 0) return undefined;
  return { username: v.slice(0, i), password: new Sensitive(v.slice(i + 1)) };
}

/**
 * Credentials from the environment and a containers auth file, the places
 * operators already keep them:
 * - `AIRLOCK_CREDS_<HOST>` = `user:password` (host upper-cased, non-alphanumerics as `_`:
 *   `AIRLOCK_CREDS_LOCALHOST_5000`);
 * - the auth file named by `AIRLOCK_AUTH_FILE` or `REGISTRY_AUTH_FILE`
 *   (`{"auths":{"host":{"auth":"base64(user:password)"}}}`, as skopeo and podman write it).
 */
export function environmentCredentials(env: NodeJS.ProcessEnv = process.env): CredentialResolver {
  let auths: Record<string, { auth?: string; username?: string; password?: string }> | undefined;
  const file = env.AIRLOCK_AUTH_FILE || env.REGISTRY_AUTH_FILE;
  if (file) {
    try {
      auths = (JSON.parse(readFileSync(file, 'utf8')) as { auths?: typeof auths }).auths ?? {};
    } catch {
      auths = {};
    }
  }
  return (registry) => {
    const fromEnv = env[envKey(registry)];
    if (fromEnv) return parseUserPass(fromEnv);
    const entry = auths?.[registry] ?? auths?.[`https://${registry}`];
    if (!entry) return undefined;
    if (entry.auth) return parseUserPass(Buffer.from(entry.auth, 'base64').toString('utf8'));
    if (entry.username && entry.password) return { username: entry.username, password: new Sensitive(entry.password) };
    return undefined;
  };
}
