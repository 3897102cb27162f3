import { X509Certificate } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { RegistryError } from './errors';

/** Where CA certificates for a registry are looked up by default, as skopeo and podman do: `<dir>/<host[:port]>/*.crt`. */
export const DEFAULT_CERTS_DIRS = ['/etc/containers/certs.d', '/etc/docker/certs.d'];

/** The certs.d folders: AIRLOCK_CERTS_D (colon-separated) or the system ones. */
export function certsDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const own = (env.AIRLOCK_CERTS_D ?? '').split(':').filter(Boolean);
  return own.length ? own : DEFAULT_CERTS_DIRS;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The certificates of a PEM file, each checked: a file that holds none, or a damaged one, is refused with its name. */
export function readCaFile(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new RegistryError('INVALID_ARGUMENT', `cannot read CA certificate file ${file}: ${(e as Error).message}`);
  }
  const pems = text.match(PEM_CERT) ?? [];
  if (!pems.length) throw new RegistryError('INVALID_ARGUMENT', `${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  for (const pem of pems) {
    try {
      new X509Certificate(pem);
    } catch (e) {
      throw new RegistryError('INVALID_ARGUMENT', `${file} holds a certificate that cannot be read: ${(e as Error).message}`);
    }
  }
  return pems;
}

/** Every `*.crt` of a folder (the containers convention; `*.cert` and `*.key` are client certificates, not CAs). */
export function caCertsInDir(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new RegistryError('INVALID_ARGUMENT', `cannot read certificate folder ${dir}: ${(e as Error).message}`);
  }
  return names
    .filter((n) => n.endsWith('.crt'))
    .sort()
    .flatMap((n) => readCaFile(join(dir, n)));
}

/** The CAs trusted for `registry` from certs.d-style folders (`<dir>/<host[:port]>/*.crt`), first folder that has any wins. */
export function registryCAs(registry: string, dirs: readonly string[] = certsDirs()): string[] {
  for (const d of dirs) {
    const found = caCertsInDir(join(d, registry));
    if (found.length) return found;
  }
  return [];
}
