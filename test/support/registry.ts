import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { freePort } from './ports';
import { ServiceProcess } from './service-process';
import type { TestCertificates } from './tls';

/** What a TLS registry serves (its certificate), and what it and its readiness probe need to ask for and present a client certificate. */
type RegistryCertificates = Pick<TestCertificates, 'certFile' | 'keyFile' | 'caFile' | 'caPem' | 'clientCertFile' | 'clientKeyFile'>;

/** A real distribution (docker-registry) instance on loopback. */
export interface TestRegistry {
  /** `127.0.0.1:PORT`, usable in image references. */
  host: string;
  url: string;
  dir: string;
  /** The docker-registry process (benchmarks read its CPU time). */
  pid?: number;
  stop(): Promise<void>;
}

/**
 * Starts Debian's docker-registry on a free loopback port with a temporary
 * store; over TLS when given a certificate. The registry that answers must
 * be the one started here (it sends a header with a token of this start): a
 * port another test took between the pick and the bind makes ours exit, and
 * a fresh port is tried.
 */
export async function startRegistry(
  opts: { htpasswd?: string; tls?: RegistryCertificates & { requireClientCert?: boolean } } = {},
): Promise<TestRegistry> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startRegistryOnce(opts);
    } catch (e) {
      if (attempt >= 5) throw e;
    }
  }
}

async function startRegistryOnce(opts: {
  htpasswd?: string;
  tls?: RegistryCertificates & { requireClientCert?: boolean };
}): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-registry-'));
  const port = await freePort();
  const token = randomBytes(8).toString('hex');
  const auth = opts.htpasswd ? `auth:\n  htpasswd:\n    realm: airlock-test\n    path: ${join(dir, 'htpasswd')}\n` : '';
  if (opts.htpasswd) writeFileSync(join(dir, 'htpasswd'), opts.htpasswd);
  const config = `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: ${join(dir, 'data')}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${port}
  headers:
    X-Airlock-Test-Registry: [${token}]
${opts.tls ? `  tls:\n    certificate: ${opts.tls.certFile}\n    key: ${opts.tls.keyFile}\n` : ''}${opts.tls?.requireClientCert ? `    clientcas:\n      - ${opts.tls.caFile}\n` : ''}${auth}`;
  writeFileSync(join(dir, 'config.yml'), config);
  const proc = new ServiceProcess(`docker-registry on ${port}`, 'docker-registry', ['serve', join(dir, 'config.yml')]);
  const url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const client = opts.tls?.requireClientCert
    ? { cert: readFileSync(opts.tls.clientCertFile), key: readFileSync(opts.tls.clientKeyFile) }
    : {};
  const dispatcher = opts.tls ? new Agent({ connect: { ca: opts.tls.caPem, ...client } }) : undefined;
  try {
    await proc.waitUntil(async () => {
      const r = await request(`${url}/v2/`, { dispatcher });
      await r.body.dump();
      return (r.statusCode === 200 || r.statusCode === 401) && r.headers['x-airlock-test-registry'] === token;
    });
  } catch (e) {
    await proc.stop();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  } finally {
    await dispatcher?.close();
  }
  return {
    host: `127.0.0.1:${port}`,
    url,
    dir,
    pid: proc.child.pid,
    async stop() {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
