import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { certsDirs, registryTls, tlsFilesInDir, DEFAULT_CERTS_DIRS } from './registry-tls';
import { TestCertificates, makeCertificates } from '../../../test/support/tls';

describe('registry TLS files (the containers certs.d layout)', () => {
  // ca.crt, ca.key, client.cert and client.key (issued by that CA); the folders below are laid out beside them from those files
  let certs: TestCertificates;
  const f = (n: string) => join(certs.dir, n);
  beforeAll(() => {
    certs = makeCertificates();
  });
  afterAll(() => certs.remove());

  const folder = (name: string, files: Record<string, string>) => {
    const d = f(name);
    mkdirSync(d, { recursive: true });
    for (const [to, from] of Object.entries(files)) copyFileSync(f(from), join(d, to));
    return d;
  };

  it('reads every *.crt as a CA and NAME.cert with NAME.key as the client certificate; a missing folder holds nothing', () => {
    const d = folder('full', { 'a.crt': 'ca.crt', 'b.crt': 'ca.crt', 'me.cert': 'client.cert', 'me.key': 'client.key' });
    const t = tlsFilesInDir(d);
    expect(t.ca).toHaveLength(2);
    expect(t.clientCert?.cert).toBe(readFileSync(certs.clientCertFile, 'utf8'));
    expect(String(t.clientCert?.key)).toBe('[redacted]');
    expect(tlsFilesInDir(f('nothing-here'))).toEqual({ ca: [] });
  });

  it.each([
    ['a key without its certificate', { 'me.key': 'client.key' }, /me\.key has no certificate beside it \(me\.cert\)/],
    ['a certificate without its key', { 'me.cert': 'client.cert' }, /me\.cert has no key beside it \(me\.key\)/],
    [
      'two client certificates',
      { 'a.cert': 'client.cert', 'a.key': 'client.key', 'b.cert': 'client.cert', 'b.key': 'client.key' },
      /holds 2 client certificates \(a\.cert, b\.cert\); keep one/,
    ],
    ['a key of another certificate', { 'me.cert': 'client.cert', 'me.key': 'ca.key' }, /me\.key is not the key of .*me\.cert/],
    ['a .crt that is no certificate', { 'x.crt': 'client.key' }, /x\.crt holds no PEM certificate/],
  ])('refuses %s, naming the file', (name, files, why) => {
    const d = folder(name.replace(/\W+/g, '-'), files);
    expect(() => tlsFilesInDir(d)).toThrow(why);
  });

  it('looks in AIRLOCK_CERTS_D (or the system folders) under the host:port, the first folder with anything winning', () => {
    expect(certsDirs({})).toEqual(DEFAULT_CERTS_DIRS);
    expect(certsDirs({ AIRLOCK_CERTS_D: '/a:/b' })).toEqual(['/a', '/b']);
    folder('d2/reg.example:5000', { 'ca.crt': 'ca.crt' });
    writeFileSync(join(folder('d1/other.example', {}), 'note.txt'), 'not for this host');
    expect(registryTls('reg.example:5000', [f('d1'), f('d2')]).ca).toHaveLength(1);
    expect(registryTls('reg.example', [f('d1'), f('d2')])).toEqual({ ca: [] });
  });
});
