import { existsSync } from 'node:fs';
import {
  RegistryOptionsResolver,
  RegistryError,
  RegistryTls,
  environmentCredentials,
  registryTls,
  tlsFilesInDir,
  RegistryOptions,
  DEFAULT_RETRY,
} from '@airlock/oci';

/**
 * What a command says on standard error when a registry request will be
 * tried again, so that a wait is never silent: `airlock: registry
 * qa.example:5000 unavailable (ping: connect ECONNREFUSED ...); attempt 2 of 5 in 1.6 s`.
 */
export function retryNotice(registry: string, attempts: number, out: NodeJS.WritableStream = process.stderr): RegistryOptions['onRetry'] {
  return (what, attempt, delayMs, reason) => {
    const why = reason.split('\n')[0].slice(0, 200);
    out.write(
      `airlock: registry ${registry} unavailable (${what}: ${why}); attempt ${attempt + 1} of ${attempts} in ${(delayMs / 1000).toFixed(1)} s\n`,
    );
  };
}

/**
 * How the CLI reaches registries: TLS verified unless the host was named
 * insecure (by flag or AIRLOCK_INSECURE_REGISTRIES=host,host), against the
 * system CAs plus the host's own, with the host's client certificate if it
 * has one (from a --*-cert-dir folder given for it, else certs.d/<host>/),
 * credentials from the environment or a containers auth file; each retry
 * is announced on standard error (`extra.onRetry` replaces that, undefined silences it).
 */
export function cliRegistryOptions(
  insecureHosts: Iterable<string>,
  extra: Partial<RegistryOptions> = {},
  certDirs: ReadonlyMap<string, string> = new Map(),
): RegistryOptionsResolver {
  const insecure = new Set(insecureHosts);
  for (const h of (process.env.AIRLOCK_INSECURE_REGISTRIES ?? '').split(',')) if (h.trim()) insecure.add(h.trim());
  const creds = environmentCredentials();
  return (registry) => ({
    insecure: insecure.has(registry),
    ...tlsFor(registry, certDirs.get(registry)),
    credentials: creds(registry),
    onRetry: retryNotice(registry, extra.retry?.attempts ?? DEFAULT_RETRY.attempts),
    ...extra,
  });
}

/** A folder named by a cert-dir flag must hold something: an empty or missing one is a mistake, never a silent fallback. */
function tlsFor(registry: string, certDir: string | undefined): RegistryTls {
  if (certDir === undefined) return registryTls(registry);
  const found = tlsFilesInDir(certDir);
  if (found.ca.length || found.clientCert) return found;
  const what = existsSync(certDir) ? 'holds no *.crt CA certificate and no NAME.cert/NAME.key pair' : 'does not exist';
  throw new RegistryError('INVALID_ARGUMENT', `certificate folder ${certDir} (for ${registry}) ${what}`);
}
