import { RegistryOptionsResolver, RegistryError, caCertsInDir, environmentCredentials, registryCAs, RegistryOptions } from '@airlock/oci';

/**
 * How the CLI reaches registries: TLS verified unless the host was named
 * insecure (by flag or AIRLOCK_INSECURE_REGISTRIES=host,host), against the
 * system CAs plus the host's own (a --*-cert-dir folder given for it, else
 * certs.d/<host>/*.crt), credentials from the environment or a containers
 * auth file.
 */
export function cliRegistryOptions(insecureHosts: Iterable<string>, extra: Partial<RegistryOptions> = {}, certDirs: ReadonlyMap<string, string> = new Map()): RegistryOptionsResolver {
  const insecure = new Set(insecureHosts);
  for (const h of (process.env.AIRLOCK_INSECURE_REGISTRIES ?? '').split(',')) if (h.trim()) insecure.add(h.trim());
  const creds = environmentCredentials();
  return (registry) => ({ insecure: insecure.has(registry), ca: trustedCAs(registry, certDirs.get(registry)), credentials: creds(registry), ...extra });
}

function trustedCAs(registry: string, certDir: string | undefined): string[] {
  if (certDir === undefined) return registryCAs(registry);
  const found = caCertsInDir(certDir);
  if (!found.length) throw new RegistryError('INVALID_ARGUMENT', `certificate folder ${certDir} (for ${registry}) holds no *.crt CA certificate`);
  return found;
}
