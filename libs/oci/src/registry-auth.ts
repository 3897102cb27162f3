import type { Agent } from './undici-agent';
import { Sensitive } from '@airlock/common';
import { Challenge, Credentials, basicAuthorization } from './auth';
import { RegistryError } from './errors';
import { RetryPolicy, TransientError, isTransientStatus, parseRetryAfter, withRetry } from './retry';
import { USER_AGENT, drain } from './http-util';

export type Action = 'pull' | 'push';
/** Access a request needs, used to ask a token server for exactly that. */
export interface Scope {
  repository: string;
  actions: Action[];
}

/**
 * The Authorization header for a registry: Basic with the credentials, or a
 * bearer token from the challenge's realm for exactly the scopes a request
 * needs, cached per scope set until shortly before it expires.
 */
export class RegistryAuth {
  /** The registry's challenge: undefined until learned, null when it asks for none. */
  challenge?: Challenge | null;
  private readonly tokens = new Map<string, { value: Sensitive<string>; expires: number }>();

  constructor(
    private readonly registry: string,
    private readonly agent: Agent,
    private readonly retry: RetryPolicy,
    private readonly credentials?: Credentials,
  ) {}

  /** The header for a request needing `scopes`; `force` fetches a new token even if one is cached. */
  async authorization(scopes: Scope[], force = false): Promise<string | undefined> {
    const ch = this.challenge;
    if (!ch) return undefined;
    const creds = this.credentials;
    if (ch.scheme === 'basic') {
      if (!creds)
        throw new RegistryError(
          'REGISTRY_UNAUTHORIZED',
          `registry ${this.registry} needs credentials and none are configured (set AIRLOCK_CREDS_<HOST> or an auth file)`,
        );
      return basicAuthorization(creds);
    }
    const scopeStr = scopes
      .map((s) => `repository:${s.repository}:${[...new Set(s.actions)].sort().join(',')}`)
      .sort()
      .join(' ');
    const cached = this.tokens.get(scopeStr);
    if (!force && cached && cached.expires > Date.now()) return `Bearer ${cached.value.reveal()}`;
    const token = await this.fetchToken(ch, scopeStr);
    return `Bearer ${token}`;
  }

  private async fetchToken(ch: Challenge, scopeStr: string): Promise<string> {
    const realm = ch.params.realm;
    if (!realm) throw new RegistryError('REGISTRY_PROTOCOL', `registry ${this.registry} sent a bearer challenge without a realm`);
    const url = new URL(realm);
    if (ch.params.service) url.searchParams.set('service', ch.params.service);
    for (const s of scopeStr.split(' ').filter(Boolean)) url.searchParams.append('scope', s);
    const creds = this.credentials;
    const headers: Record<string, string> = { 'user-agent': USER_AGENT };
    if (creds) headers.authorization = basicAuthorization(creds);
    const res = await withRetry(this.retry, `token request to ${url.host}`, async () => {
      const r = await this.agent.request({ origin: url.origin, path: url.pathname + url.search, method: 'GET', headers });
      if (isTransientStatus(r.statusCode)) {
        await drain(r);
        throw new TransientError(`token server answered ${r.statusCode}`, parseRetryAfter(r.headers['retry-after']));
      }
      return r;
    });
    if (res.statusCode !== 200) {
      await drain(res);
      throw new RegistryError(
        'REGISTRY_UNAUTHORIZED',
        `token server for ${this.registry} refused ${creds ? `user ${creds.username}` : 'anonymous access'} (${res.statusCode}) for ${scopeStr}`,
      );
    }
    const body = (await res.body.json()) as { token?: string; access_token?: string; expires_in?: number };
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryError('REGISTRY_PROTOCOL', `token server for ${this.registry} returned no token`);
    const ttl = Math.max(10, body.expires_in ?? 60);
    this.tokens.set(scopeStr, { value: new Sensitive(token), expires: Date.now() + (ttl - 5) * 1000 });
    return token;
  }
}
