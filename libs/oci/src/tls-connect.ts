import * as tls from 'node:tls';
import { RegistryError } from './errors';
import { apiHost } from './reference';
import type { ClientCertificate } from './registry-tls';

/** Node's codes for a certificate that does not verify (its chain, its name or its dates). */
const CERT_CODES =
  /^(?:ERR_TLS_CERT_ALTNAME_INVALID|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_(?:GET_ISSUER_CERT(?:_LOCALLY)?|VERIFY_LEAF_SIGNATURE)|CERT_[A-Z_]+)$/;

/** An error and its causes, a few deep. */
function* chain(e: unknown): Generator<Error & { code?: unknown }> {
  for (let cur = e, i = 0; cur && i < 5; cur = (cur as { cause?: unknown }).cause, i++) yield cur as Error & { code?: unknown };
}

/** The codes of an error and its causes. */
function codes(e: unknown): string[] {
  return [...chain(e)].map((c) => c.code).filter((c): c is string => typeof c === 'string');
}

/** REGISTRY_TLS_UNTRUSTED when a certificate that does not verify (its chain, its name or its dates) is why a connection failed. */
export function untrustedCertificate(registry: string, e: unknown): RegistryError | undefined {
  const bad = [...chain(e)].find((c) => CERT_CODES.test(String(c.code)));
  if (!bad) return undefined;
  const why = bad.message.replace(/\s*\n\s*/g, ' ').trim();
  return new RegistryError(
    'REGISTRY_TLS_UNTRUSTED',
    `registry ${registry} presented a certificate that is not trusted (${why}): trust its CA (certs.d/${registry}/ca.crt, a cert-dir flag or the registry's caFile) or mark it insecure`,
    {},
    { cause: e },
  );
}

/** How connections to a registry check its certificate. */
export function tlsOptions(opts: { insecure?: boolean; ca?: string[]; clientCert?: ClientCertificate }): tls.ConnectionOptions | undefined {
  const client = opts.clientCert ? { cert: opts.clientCert.cert, key: opts.clientCert.key.reveal() } : {};
  // an insecure registry's certificate is not checked, so its TLS context needs no CA store: building the
  // default one is most of the first TLS connection's cost, paid at every command when an insecure registry that
  // speaks plain HTTP is tried with HTTPS first
  if (opts.insecure) return { rejectUnauthorized: false, ca: [], ...client };
  if (!opts.ca?.length && !opts.clientCert) return undefined;
  // the system's CAs (and NODE_EXTRA_CA_CERTS) plus the registry's own, as skopeo does with certs.d: the `ca`
  // option would replace them. addCACert copies the shared root store before adding to it.
  const secureContext = tls.createSecureContext(client);
  for (const pem of opts.ca ?? []) (secureContext as unknown as { context: { addCACert(pem: string): void } }).context.addCACert(pem);
  return { secureContext };
}

/**
 * The registry's TLS alerts when it wants a client certificate, or does not accept the one it got. OpenSSL 3.2
 * renamed the "sslv3 alert" reasons to "ssl/tls alert", so Node 24 says ERR_SSL_SSL/TLS_ALERT_BAD_CERTIFICATE
 * where Node 20 says ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE.
 */
const CLIENT_CERT_ALERT =
  /^ERR_SSL_(?:TLSV13_ALERT_CERTIFICATE_REQUIRED|(?:SSLV3|SSL\/TLS)_ALERT_(?:BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|UNSUPPORTED_CERTIFICATE|CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED)|TLSV1_ALERT_(?:UNKNOWN_CA|ACCESS_DENIED))$/;

function clientCertAlert(e: unknown): boolean {
  return codes(e).some((c) => CLIENT_CERT_ALERT.test(c));
}

/** The alert's name in an OpenSSL error ("bad certificate", "certificate required"). */
function alertName(e: unknown): string {
  return /alert ([a-z ]+?)(?::|$)/i.exec((e as Error).message)?.[1] ?? (e as Error).message;
}

/**
 * REGISTRY_UNAUTHORIZED when an HTTPS request failed because the registry
 * wants a client certificate, or not this one. Over TLS 1.2 the alert comes
 * in the handshake; over TLS 1.3 after it, and undici reports only that the
 * other side closed, so then one probe reads the alert. Caused by the alert,
 * not the close: a close is retried, a refusal is final.
 */
export async function clientCertRefusal(
  registry: string,
  options: tls.ConnectionOptions | undefined,
  hasCert: boolean,
  e: unknown,
): Promise<RegistryError | undefined> {
  const alert = clientCertAlert(e) ? e : closedByPeer(e) ? await probeTlsAlert(apiHost(registry), options) : undefined;
  if (!alert || !clientCertAlert(alert)) return undefined;
  return new RegistryError(
    'REGISTRY_UNAUTHORIZED',
    `registry ${registry} ${hasCert ? 'refused this client certificate' : 'asks for a client certificate'} (TLS alert "${alertName(alert)}"): give one as NAME.cert and NAME.key (certs.d/${registry}/, a cert-dir flag or the registry's clientCert)`,
    {},
    { cause: alert },
  );
}

/** The connection was closed or reset by the other side. */
function closedByPeer(e: unknown): boolean {
  return codes(e).some((c) => c === 'UND_ERR_SOCKET' || c === 'ECONNRESET');
}

/**
 * The TLS alert a registry answers a plain request with, if it does: over
 * TLS 1.3 a server checks the client certificate after the handshake, and
 * undici reports only that the other side closed. Asked on the failure path
 * only, to tell "wants a client certificate" from "went away".
 */
function probeTlsAlert(host: string, options: tls.ConnectionOptions | undefined, timeoutMs = 5000): Promise<Error | undefined> {
  const url = new URL(`https://${host}`);
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve) => {
    const s = tls.connect(
      { ...options, host: hostname, port: Number(url.port || 443), servername: /^[\d.]+$|:/.test(hostname) ? undefined : hostname },
      () => s.write(`GET /v2/ HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
    );
    const done = (e?: Error) => {
      clearTimeout(t);
      s.destroy();
      resolve(e);
    };
    const t = setTimeout(() => done(), timeoutMs);
    s.on('error', (e: Error) => done(e));
    s.on('data', () => done());
    s.on('close', () => done());
  });
}
