import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { certsDirs, registryTls, tlsFilesInDir, DEFAULT_CERTS_DIRS } from './registry-tls';

describe('registry TLS files (the containers certs.d layout)', () => {
  let dir: string;
  const f = (n: string) => join(dir, n);
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'airlock-tls-files-'));
    const ssl = (...a: string[]) => execFileSync('openssl', a, { stdio: 'ignore' });
    ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=ca', '-keyout', f('ca.key'), '-out', f('ca.pem'));
    ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=me', '-keyout', f('me.keyfile'), '-out', f('me.certfile'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const folder = (name: string, files: Record<string, string>) => {
    const d = f(name);
    mkdirSync(d, { recursive: true });
    for (const [to, from] of Object.entries(files)) copyFileSync(f(from), join(d, to));
    return d;
  };

  it('reads every *.crt as a CA and NAME.cert with NAME.key as the client certificate; a missing folder holds nothing', () => {
    const d = folder('full', { 'a.crt': 'ca.pem', 'b.crt': 'ca.pem', 'me.cert': 'me.certfile', 'me.key': 'me.keyfile' });
    const t = tlsFilesInDir(d);
    expect(t.ca).toHaveLength(2);
    expect(t.clientCert?.cert).toBe(readFileSync(f('me.certfile'), 'utf8'));
    expect(String(t.clientCert?.key)).toBe('[redacted]');
    expect(tlsFilesInDir(f('nothing-here'))).toEqual({ ca: [] });
  });

  it.each([
    ['a key without its certificate', { 'me.key': 'me.keyfile' }, /me\.key has no certificate beside it \(me\.cert\)/],
    ['a certificate without its key', { 'me.cert': 'me.certfile' }, /me\.cert has no key beside it \(me\.key\)/],
    ['two client certificates', { 'a.cert': 'me.certfile', 'a.key': 'me.keyfile', 'b.cert': 'me.certfile', 'b.key': 'me.keyfile' }, /holds 2 client certificates \(a\.cert, b\.cert\); keep one/],
    ['a key of another certificate', { 'me.cert': 'me.certfile', 'me.key': 'ca.key' }, /me\.key is not the key of .*me\.cert/],
    ['a .crt that is no certificate', { 'x.crt': 'me.keyfile' }, /x\.crt holds no PEM certificate/],
  ])('refuses %s, naming the file', (name, files, why) => {
    const d = folder(name.replace(/\W+/g, '-'), files);
    expect(() => tlsFilesInDir(d)).toThrow(why);
  });

  it('looks in AIRLOCK_CERTS_D (or the system folders) under the host:port, the first folder with anything winning', () => {
    expect(certsDirs({})).toEqual(DEFAULT_CERTS_DIRS);
    expect(certsDirs({ AIRLOCK_CERTS_D: '/a:/b' })).toEqual(['/a', '/b']);
    folder('d2/reg.example:5000', { 'ca.crt': 'ca.pem' });
    writeFileSync(join(folder('d1/other.example', {}), 'note.txt'), 'not for this host');
    expect(registryTls('reg.example:5000', [f('d1'), f('d2')]).ca).toHaveLength(1);
    expect(registryTls('reg.example', [f('d1'), f('d2')])).toEqual({ ca: [] });
  });
});
