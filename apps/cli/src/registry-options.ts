import { RegistryOptionsResolver, environmentCredentials, RegistryOptions } from '@airlock/oci';

/**
 * How the CLI reaches registries: TLS verified unless the host was named
 * insecure (by flag or AIRLOCK_INSECURE_REGISTRIES=host,host), credentials
 * from the environment or a containers auth file.
 */
export function cliRegistryOptions(insecureHosts: Iterable<string>, extra: Partial<RegistryOptions> = {}): RegistryOptionsResolver {
  const insecure = new Set(insecureHosts);
  for (const h of (process.env.AIRLOCK_INSECURE_REGISTRIES ?? '').split(',')) if (h.trim()) insecure.add(h.trim());
  const creds = environmentCredentials();
  return (registry) => ({ insecure: insecure.has(registry), credentials: creds(registry), ...extra });
}
