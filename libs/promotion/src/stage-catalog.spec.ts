import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAirlockError } from '@airlock/common';
import { loadConfig } from '@airlock/common/config';
import { StageCatalog } from './stage-catalog';
import { TestCertificates, makeCertificates } from '../../../test/support/tls';

describe('StageCatalog registry CAs', () => {
  // ca.crt, ca.key, client.cert and client.key in one folder, which the configurations below name relative to themselves
  let certs: TestCertificates;
  let dir: string;
  let pem: string;
  const saved = process.env.AIRLOCK_CERTS_D;
  beforeAll(() => {
    certs = makeCertificates();
    dir = certs.dir;
    pem = certs.caPem;
  });
  afterAll(() => {
    certs.remove();
    if (saved === undefined) delete process.env.AIRLOCK_CERTS_D;
    else process.env.AIRLOCK_CERTS_D = saved;
  });

  const catalog = (registry: string) => {
    const file = join(dir, `airlock-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, `stages:\n  - name: prod\n    registry: ${registry}\n    lookaside: { dir: sig }\n`);
    return StageCatalog.create(loadConfig(file));
  };

  it('trusts the CA file named by registry.caFile (relative to the config file)', async () => {
    process.env.AIRLOCK_CERTS_D = join(dir, 'nothing-here');
    const cat = await catalog('{ host: "prod.example:5000", caFile: ca.crt }');
    expect(cat.registryOptions()('prod.example:5000').ca).toEqual([pem.trim()]);
    expect(cat.registryOptions()('other.example').ca).toBeUndefined();
  });

  it('finds the CA in certs.d/<host:port>/*.crt when no caFile is given', async () => {
    process.env.AIRLOCK_CERTS_D = join(dir, 'certs.d');
    mkdirSync(join(dir, 'certs.d', 'prod.example:5000'), { recursive: true });
    writeFileSync(join(dir, 'certs.d', 'prod.example:5000', 'site.crt'), pem);
    const cat = await catalog('{ host: "prod.example:5000" }');
    expect(cat.registryOptions()('prod.example:5000').ca).toEqual([pem.trim()]);
  });

  it('presents the client certificate named by registry.clientCert, its key never printed', async () => {
    process.env.AIRLOCK_CERTS_D = join(dir, 'nothing-here');
    const cat = await catalog('{ host: "prod.example:5000", clientCert: { certFile: client.cert, keyFile: client.key } }');
    const o = cat.registryOptions()('prod.example:5000');
    expect(o.clientCert?.cert).toBe(readFileSync(join(dir, 'client.cert'), 'utf8'));
    expect(o.clientCert?.key.reveal()).toBe(readFileSync(join(dir, 'client.key'), 'utf8'));
    expect(JSON.stringify(o)).not.toContain('PRIVATE KEY');
    const mismatched = await catalog('{ host: "prod.example:5000", clientCert: { certFile: client.cert, keyFile: ca.key } }').catch(
      (e: unknown) => e,
    );
    expect((mismatched as Error).message).toMatch(/^stage prod: registry TLS files: .*ca\.key is not the key of .*client\.cert$/);
  });

  it('stops the boot with the stage named when the CA file is missing or holds no certificate', async () => {
    writeFileSync(join(dir, 'not-a-cert.crt'), 'hello\n');
    for (const [file, why] of [
      ['missing.crt', /cannot read CA certificate file .*missing\.crt/],
      ['not-a-cert.crt', /holds no PEM certificate/],
    ] as const) {
      const err = await catalog(`{ host: "prod.example:5000", caFile: ${file} }`).catch((e: unknown) => e);
      expect(isAirlockError(err) && err.code).toBe('CONFIG_INVALID');
      expect((err as Error).message).toMatch(/^stage prod: registry TLS files: /);
      expect((err as Error).message).toMatch(why);
    }
  });
});
