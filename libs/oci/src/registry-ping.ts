import { Agent } from './undici-agent';
import { parseChallenge } from './auth';
import type { RegistryAuth } from './registry-auth';
import type { RegistryOptions } from './registry-client';
import { RegistryError } from './errors';
import { RetryPolicy, TransientError, hasNetworkCode, isTransientStatus, parseRetryAfter, withRetry } from './retry';
import { apiHost } from './reference';
import { USER_AGENT, drain } from './http-util';
import { clientCertRefusal, tlsOptions, untrustedCertificate } from './tls-connect';

/**
 * GET /v2/: picks the scheme (HTTPS; plain HTTP too for an insecure
 * registry), learns the auth challenge into `auth`, and returns the base URL.
 * A registry that cannot be reached is named with why: a certificate not
 * trusted, a client certificate it asks for, no registry API, or the
 * connection's own error.
 */
export async function pingRegistry(
  registry: string,
  opts: RegistryOptions,
  agent: Agent,
  tls: ReturnType<typeof tlsOptions>,
  retry: RetryPolicy,
  auth: RegistryAuth,
): Promise<URL> {
  const host = apiHost(registry);
  const schemes = opts.insecure ? ['https', 'http'] : ['https'];
  let lastErr: unknown;
  for (const scheme of schemes) {
    const base = new URL(`${scheme}://${host}`);
    try {
      const res = await withRetry(
        retry,
        `connecting to registry ${registry}`,
        async () => {
          const r = await agent
            .request({ origin: base.origin, path: '/v2/', method: 'GET', headers: { 'user-agent': USER_AGENT } })
            .catch(async (e: unknown) => {
              // a registry that wants a client certificate: no retry mends that, and plain HTTP is not the answer
              throw (scheme === 'https' && (await clientCertRefusal(registry, tls, !!opts.clientCert, e))) || e;
            });
          if (isTransientStatus(r.statusCode)) {
            await drain(r);
            throw new TransientError(`registry ${registry} answered ${r.statusCode}`, parseRetryAfter(r.headers['retry-after']));
          }
          return r;
        },
        (a, d, why) => opts.onRetry?.('ping', a, d, why),
      );
      await drain(res);
      if (res.statusCode === 401) {
        auth.challenge = parseChallenge(res.headers['www-authenticate']) ?? null;
      } else if (res.statusCode === 200) {
        auth.challenge = null;
      } else if (res.statusCode === 404) {
        throw new RegistryError('REGISTRY_PROTOCOL', `${host} does not serve the registry API at /v2/ (answered 404)`);
      } else {
        auth.challenge = null;
      }
      return base;
    } catch (e) {
      lastErr = e;
      if (e instanceof RegistryError && (e.code === 'REGISTRY_PROTOCOL' || e.code === 'REGISTRY_UNAUTHORIZED')) throw e;
      // nothing listens there (or the name does not resolve): plain HTTP on the same port would only be refused again
      if (unreachable(e)) break;
    }
  }
  if (lastErr instanceof RegistryError) throw lastErr;
  const untrusted = untrustedCertificate(registry, lastErr);
  if (untrusted) throw untrusted;
  let why = lastErr instanceof Error ? lastErr.message : String(lastErr);
  if (/wrong version number|packet length too long|ssl3_get_record/i.test(why))
    why = 'TLS handshake failed: it does not seem to speak HTTPS';
  why = why.replace(/\s*\n\s*/g, ' ').trim();
  throw new RegistryError(
    'REGISTRY_UNAVAILABLE',
    `cannot reach registry ${registry}: ${why}${opts.insecure ? '' : ' (for a plain-HTTP registry, mark it insecure)'}`,
    {},
    { cause: lastErr },
  );
}

/** True when the failure says nothing answers at that address at all, whatever the scheme. */
const NOTHING_THERE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND']);
const unreachable = (e: unknown): boolean => hasNetworkCode(e, NOTHING_THERE);
