import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Sensitive } from '@airlock/common';
import { RegistryError } from './errors';

/** Where a registry's TLS files are looked up by default, as skopeo and podman do: `<dir>/<host[:port]>/`. */
export const DEFAULT_CERTS_DIRS = ['/etc/containers/certs.d', '/etc/docker/certs.d'];

/** A client certificate a registry asks for (mutual TLS); the key is never printed. */
export interface ClientCertificate {
  cert: string;
  key: Sensitive<string>;
}

/** What a connection to one registry presents and trusts beyond the system's CAs. */
export interface RegistryTls {
  /** CA certificates (PEM) trusted besides the system's. */
  ca: string[];
  clientCert?: ClientCertificate;
}

/** The certs.d folders: AIRLOCK_CERTS_D (colon-separated) or the system ones. */
export function certsDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const own = (env.AIRLOCK_CERTS_D ?? '').split(':').filter(Boolean);
  return own.length ? own : DEFAULT_CERTS_DIRS;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new RegistryError('INVALID_ARGUMENT', `cannot read ${what} ${file}: ${(e as Error).message}`);
  }
}

/** The certificates of a PEM file, each checked: a file that holds none, or a damaged one, is refused with its name. */
export function readCaFile(file: string): string[] {
  const pems = readText(file, 'CA certificate file').match(PEM_CERT) ?? [];
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

/** A client certificate and its unencrypted key, checked to belong together. */
export function readClientCertificate(certFile: string, keyFile: string): ClientCertificate {
  const cert = readText(certFile, 'client certificate');
  const key = new Sensitive(readText(keyFile, 'client key'));
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (e) {
    throw new RegistryError('INVALID_ARGUMENT', `${certFile} is not a PEM certificate: ${(e as Error).message}`);
  }
  let matches: boolean;
  try {
    matches = x509.checkPrivateKey(createPrivateKey(key.reveal()));
  } catch {
    throw new RegistryError('INVALID_ARGUMENT', `${keyFile} is not an unencrypted PEM private key`);
  }
  if (!matches) throw new RegistryError('INVALID_ARGUMENT', `${keyFile} is not the key of ${certFile}`);
  return { cert, key };
}

/**
 * A folder in the containers layout: every `*.crt` is a CA; `NAME.cert` with
 * `NAME.key` is the client certificate (one pair; a half pair is an error).
 * A folder that does not exist holds nothing.
 */
export function tlsFilesInDir(dir: string): RegistryTls {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { ca: [] };
    throw new RegistryError('INVALID_ARGUMENT', `cannot read certificate folder ${dir}: ${(e as Error).message}`);
  }
  const ca = names.filter((n) => n.endsWith('.crt')).flatMap((n) => readCaFile(join(dir, n)));
  const certs = names.filter((n) => n.endsWith('.cert'));
  const keys = names.filter((n) => n.endsWith('.key'));
  for (const k of keys)
    if (!certs.includes(k.replace(/\.key$/, '.cert')))
      throw new RegistryError('INVALID_ARGUMENT', `${join(dir, k)} has no certificate beside it (${k.replace(/\.key$/, '.cert')})`);
  for (const c of certs)
    if (!keys.includes(c.replace(/\.cert$/, '.key')))
      throw new RegistryError('INVALID_ARGUMENT', `${join(dir, c)} has no key beside it (${c.replace(/\.cert$/, '.key')})`);
  if (certs.length > 1)
    throw new RegistryError('INVALID_ARGUMENT', `${dir} holds ${certs.length} client certificates (${certs.join(', ')}); keep one`);
  return certs.length
    ? { ca, clientCert: readClientCertificate(join(dir, certs[0]), join(dir, certs[0].replace(/\.cert$/, '.key'))) }
    : { ca };
}

/** The TLS files for `registry` from certs.d-style folders (`<dir>/<host[:port]>/`): the first folder that has any. */
export function registryTls(registry: string, dirs: readonly string[] = certsDirs()): RegistryTls {
  for (const d of dirs) {
    const found = tlsFilesInDir(join(d, registry));
    if (found.ca.length || found.clientCert) return found;
  }
  return { ca: [] };
}
