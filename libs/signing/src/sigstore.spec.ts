import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes, scryptSync, sign as cryptoSign } from 'node:crypto';
import * as nacl from 'tweetnacl';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sensitive } from '@airlock/common';
import { buildCosignPayload } from './payload';
import { generateSigstoreKeyPair, isSigstoreKeyFile, readSigstorePrivateKey, readSigstorePublicKey } from './sigstore-key';
import { signSigstore, verifySigstore } from './sigstore-signature';
import { decodeCarriedSigstore, encodeCarriedSigstore } from './sigstore-carried';

const fixture = (f: string) => readFileSync(join(__dirname, '..', '..', '..', 'test', 'fixtures', 'cosign', f));
const code = (c: string, message?: RegExp) =>
  expect.objectContaining({ code: c, ...(message ? { message: expect.stringMatching(message) } : {}) });
const DIGEST = 'sha256:' + 'ab'.repeat(32);

describe('sigstore keys: the encrypted format cosign writes', () => {
  it('loads the key cosign wrote with its passphrase; a wrong passphrase is KEY_PASSPHRASE', () => {
    const k = readSigstorePrivateKey(fixture('sigstore.key'), new Sensitive('hello'));
    expect([k.asymmetricKeyType, k.asymmetricKeyDetails?.namedCurve]).toEqual(['ec', 'prime256v1']);
    expect(() => readSigstorePrivateKey(fixture('sigstore.key'), new Sensitive('hell0'))).toThrow(code('KEY_PASSPHRASE'));
    expect(isSigstoreKeyFile(fixture('sigstore.key'))).toBe(true);
  });

  it("loads cosign's older label too; refuses what cosign refuses (a SEC1 key inside), and a key that is not P-256", () => {
    expect(readSigstorePrivateKey(fixture('cosign.key'), new Sensitive('hello')).asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(() => readSigstorePrivateKey(fixture('cosign-ec-sec1.key'), new Sensitive('hello'))).toThrow(code('KEY_INVALID', /not PKCS#8/));
    // the same envelope around a P-384 key: airlock signs and verifies with P-256 only, and says so
    const salt = randomBytes(32);
    const nonce = randomBytes(24);
    const secret = scryptSync('hello', salt, 32, { N: 1024, r: 8, p: 1 });
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ format: 'der', type: 'pkcs8' });
    const doc = {
      kdf: { name: 'scrypt', params: { N: 1024, r: 8, p: 1 }, salt: salt.toString('base64') },
      cipher: { name: 'nacl/secretbox', nonce: nonce.toString('base64') },
      ciphertext: Buffer.from(nacl.secretbox(p384, nonce, secret)).toString('base64'),
    };
    const pem = `-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n${Buffer.from(JSON.stringify(doc)).toString('base64')}\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n`;
    expect(() => readSigstorePrivateKey(pem, new Sensitive('hello'))).toThrow(
      code('KEY_INVALID', /not an ECDSA P-256 key \(ec secp384r1\)/),
    );
  });

  it('refuses malformed files before any work: other PEM types, bad JSON, duplicate keys, scrypt beyond range, another cipher', () => {
    const wrap = (json: string, type = 'ENCRYPTED SIGSTORE PRIVATE KEY') =>
      `-----BEGIN ${type}-----\n${Buffer.from(json).toString('base64')}\n-----END ${type}-----\n`;
    const good = JSON.parse(Buffer.from(fixture('sigstore.key').toString().split('\n').slice(1, -2).join(''), 'base64').toString());
    const pass = new Sensitive('hello');
    expect(() => readSigstorePrivateKey(wrap(JSON.stringify(good), 'PRIVATE KEY'), pass)).toThrow(
      code('KEY_INVALID', /expected one PEM block/),
    );
    expect(() => readSigstorePrivateKey(wrap('{"kdf":'), pass)).toThrow(code('KEY_INVALID', /not valid JSON/));
    expect(() => readSigstorePrivateKey(wrap(`{"kdf":{},${JSON.stringify(good).slice(1)}`), pass)).toThrow(
      code('KEY_INVALID', /not valid JSON/),
    );
    expect(() =>
      readSigstorePrivateKey(wrap(JSON.stringify({ ...good, kdf: { ...good.kdf, params: { N: 1 << 24, r: 8, p: 1 } } })), pass),
    ).toThrow(code('KEY_INVALID', /outside what cosign writes/));
    expect(() => readSigstorePrivateKey(wrap(JSON.stringify({ ...good, cipher: { ...good.cipher, name: 'aes' } })), pass)).toThrow(
      code('KEY_INVALID', /not nacl\/secretbox/),
    );
  });

  it('writes keys in that format: the fields cosign writes, its scrypt work factor, and a key that round-trips', () => {
    const pass = new Sensitive('s3cret');
    const g = generateSigstoreKeyPair(pass);
    expect(g.privatePem).toMatch(/^-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n/);
    const doc = JSON.parse(Buffer.from(g.privatePem.split('\n').slice(1, -2).join(''), 'base64').toString());
    expect(doc).toEqual({
      kdf: { name: 'scrypt', params: { N: 32768, r: 8, p: 1 }, salt: expect.any(String) },
      cipher: { name: 'nacl/secretbox', nonce: expect.any(String) },
      ciphertext: expect.any(String),
    });
    const key = readSigstorePrivateKey(g.privatePem, pass);
    const pub = readSigstorePublicKey(g.publicPem);
    expect(pub.fingerprint).toBe(g.fingerprint);
    expect(
      verifySigstore(signSigstore(DIGEST, 'reg.example/team/app', key), {
        trustedKeys: [pub],
        manifestDigest: DIGEST,
        reference: 'reg.example/team/app:1',
      }).keyFingerprint,
    ).toBe(pub.fingerprint);
  });

  it('reads a cosign public key; its fingerprint is the SHA-256 of the DER key, as openssl computes it', () => {
    const pub = readSigstorePublicKey(fixture('containers-image-cosign.pub'));
    const der = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'DER'], { input: fixture('containers-image-cosign.pub') });
    expect(pub.fingerprint).toBe(createHash('sha256').update(der).digest('hex'));
  });
});

describe('sigstore signatures: the payload cosign signs, checked against openssl', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'airlock-sigstore-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('builds the payload byte for byte as cosign prints it', () => {
    // the payload `cosign verify` printed for index.docker.io/marcofranssen/busybox (cosign's own output, quoted in its users' docs)
    const known =
      '{"critical":{"identity":{"docker-reference":"index.docker.io/marcofranssen/busybox"},"image":{"docker-manifest-digest":"sha256:febcf61cd6e1ac9628f6ac14fa40836d16f3c6ddef3b303ff0321606e55ddd0b"},"type":"cosign container image signature"},"optional":null}';
    expect(
      buildCosignPayload(
        'sha256:febcf61cd6e1ac9628f6ac14fa40836d16f3c6ddef3b303ff0321606e55ddd0b',
        'index.docker.io/marcofranssen/busybox',
      ).toString(),
    ).toBe(known);
  });

  it('airlock signs what openssl verifies, and verifies what openssl signs (cosign signatures are ECDSA-SHA256 over the payload bytes)', () => {
    const pass = new Sensitive('p');
    const g = generateSigstoreKeyPair(pass);
    const key = readSigstorePrivateKey(g.privatePem, pass);
    const pub = readSigstorePublicKey(g.publicPem);
    writeFileSync(join(dir, 'k.pub'), g.publicPem);
    const s = signSigstore(DIGEST, 'reg.example/team/app', key);
    writeFileSync(join(dir, 'payload'), s.payload);
    writeFileSync(join(dir, 'sig'), Buffer.from(s.signature, 'base64'));
    expect(
      execFileSync('openssl', [
        'dgst',
        '-sha256',
        '-verify',
        join(dir, 'k.pub'),
        '-signature',
        join(dir, 'sig'),
        join(dir, 'payload'),
      ]).toString(),
    ).toMatch(/Verified OK/);

    execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', join(dir, 'o.key')]);
    const opub = readSigstorePublicKey(
      execFileSync('openssl', ['ec', '-in', join(dir, 'o.key'), '-pubout'], { stdio: ['ignore', 'pipe', 'ignore'] }),
    );
    writeFileSync(join(dir, 'p2'), buildCosignPayload(DIGEST, 'reg.example/team/app'));
    const osig = execFileSync('openssl', ['dgst', '-sha256', '-sign', join(dir, 'o.key'), join(dir, 'p2')]).toString('base64');
    const v = verifySigstore(
      { payload: readFileSync(join(dir, 'p2')), signature: osig },
      { trustedKeys: [pub, opub], manifestDigest: DIGEST, reference: 'reg.example/team/app:1' },
    );
    expect([v.keyFingerprint, v.dockerReference, v.dialect]).toEqual([opub.fingerprint, 'reg.example/team/app', 'sigstore']);
  });

  it('refuses, each with its code: another key, an altered payload, another digest or identity, keyless, a malformed or non-strict payload', () => {
    const pass = new Sensitive('p');
    const mine = generateSigstoreKeyPair(pass);
    const key = readSigstorePrivateKey(mine.privatePem, pass);
    const pub = readSigstorePublicKey(mine.publicPem);
    const other = readSigstorePublicKey(generateSigstoreKeyPair(pass).publicPem);
    const o = { trustedKeys: [pub], manifestDigest: DIGEST, reference: 'reg.example/team/app:1' };
    const signed = (payload: string) => ({
      payload: Buffer.from(payload),
      signature: cryptoSign('sha256', Buffer.from(payload), key).toString('base64'),
    });
    const good = signSigstore(DIGEST, 'reg.example/team/app', key);
    expect(verifySigstore(good, o).manifestDigest).toBe(DIGEST);
    expect(() => verifySigstore(good, { ...o, trustedKeys: [other] })).toThrow(code('SIGNATURE_UNTRUSTED_KEY'));
    const altered = Buffer.from(good.payload);
    altered[altered.length - 3] ^= 1;
    expect(() => verifySigstore({ ...good, payload: altered }, o)).toThrow(code('SIGNATURE_UNTRUSTED_KEY', /altered/));
    expect(() => verifySigstore(good, { ...o, manifestDigest: 'sha256:' + 'cd'.repeat(32) })).toThrow(code('SIGNATURE_DIGEST_MISMATCH'));
    expect(() => verifySigstore(good, { ...o, reference: 'reg.example/team/other:1' })).toThrow(code('SIGNATURE_IDENTITY_MISMATCH'));
    expect(() => verifySigstore(good, { ...o, identityRule: { type: 'matchExact' } })).toThrow(code('SIGNATURE_IDENTITY_MISMATCH'));
    expect(() => verifySigstore({ ...good, certificate: '-----BEGIN CERTIFICATE-----' }, o)).toThrow(code('SIGNATURE_KEYLESS_UNSUPPORTED'));
    expect(() => verifySigstore({ ...good, signature: 'not base64!' }, o)).toThrow(code('SIGNATURE_FORMAT'));
    const p = (critical: string, optional = 'null') => `{"critical":${critical},"optional":${optional}}`;
    const crit = (type = 'cosign container image signature') =>
      `{"identity":{"docker-reference":"reg.example/team/app"},"image":{"docker-manifest-digest":"${DIGEST}"},"type":"${type}"}`;
    expect(verifySigstore(signed(p(crit(), '{"annotation":"x"}')), o).dockerReference).toBe('reg.example/team/app');
    for (const [what, payload] of [
      ['the simple signing type', p(crit('atomic container signature'))],
      ['a duplicate key', p(crit().replace('"type"', '"type":"x","type"'))],
      ['trailing data', p(crit()) + ' {}'],
      ['an unknown critical key', p(crit().replace('"type"', '"extra":1,"type"'))],
      ['no optional', `{"critical":${crit()}}`],
    ] as const) {
      expect([
        what,
        (() => {
          try {
            verifySigstore(signed(payload), o);
            return 'accepted';
          } catch (e) {
            return (e as { code: string }).code;
          }
        })(),
      ]).toEqual([what, 'SIGNATURE_PAYLOAD_INVALID']);
    }
  });
});

describe('sigstore signatures carried in a bundle', () => {
  it('round-trips both forms, and reads anything else as a signature carrying SIGNATURE_FORMAT', () => {
    const pass = new Sensitive('p');
    const g = generateSigstoreKeyPair(pass);
    const key = readSigstorePrivateKey(g.privatePem, pass);
    const pub = readSigstorePublicKey(g.publicPem);
    const s = signSigstore(DIGEST, 'reg.example/team/app', key);
    const back = decodeCarriedSigstore(encodeCarriedSigstore(s));
    expect(verifySigstore(back, { trustedKeys: [pub], manifestDigest: DIGEST, reference: 'reg.example/team/app:1' }).keyFingerprint).toBe(
      pub.fingerprint,
    );
    const bundle = Buffer.from('{"mediaType":"x"}');
    expect(decodeCarriedSigstore(encodeCarriedSigstore({ payload: Buffer.alloc(0), signature: '', bundle })).bundle).toEqual(bundle);
    for (const bad of [
      '{"payload":"e30=","signature":"AA==","extra":1}',
      '{"payload":"e30=","payload":"e30=","signature":"AA=="}',
      '{"payload":"not base64!","signature":"AA=="}',
      '[]',
      '{"bundle":1}',
      '\u00ff{}',
    ]) {
      expect([bad, decodeCarriedSigstore(Buffer.from(bad)).problem?.code]).toEqual([bad, 'SIGNATURE_FORMAT']);
    }
  });
});
