import { createCipheriv, randomBytes } from 'node:crypto';
import * as openpgp from 'openpgp';
import { CfbOpen, CfbSealer, nativeCfbPath } from './native-cfb';
import { seipdDataAt, seipdOpener, seipdSealer, sessionKeyPacketsEnd } from './seipd';

describe('sealed entries: one SEIPD v1 packet of definite length, written and read with node:crypto', () => {
  let key: openpgp.PrivateKey;
  const sessionKey = randomBytes(32);
  let packets: Buffer;
  beforeAll(async () => {
    ({ privateKey: key } = await openpgp.generateKey({
      type: 'ecc',
      curve: 'ed25519Legacy',
      userIDs: [{ name: 'r' }],
      format: 'object',
      config: { v6Keys: false },
    }));
    packets = Buffer.from(
      await openpgp.encryptSessionKey({ data: sessionKey, algorithm: 'aes256', encryptionKeys: key.toPublic(), format: 'binary' }),
    );
  });

  const seal = (data: Buffer, chunk = 7000) => {
    const s = seipdSealer(sessionKey, packets, data.length);
    const out = [s.head];
    for (let i = 0; i < data.length; i += chunk) out.push(s.update(data.subarray(i, i + chunk)));
    out.push(s.final());
    return Buffer.concat(out);
  };
  const open = (sealed: Buffer, chunk = 5000) => {
    const skip = sessionKeyPacketsEnd(sealed) as number;
    const o = seipdOpener(sessionKey, skip);
    const out: Buffer[] = [];
    for (let i = 0; i < sealed.length; i += chunk) out.push(o.update(sealed.subarray(i, i + chunk)));
    o.final();
    return Buffer.concat(out);
  };

  /** What another OpenPGP implementation (openpgp.js, with the import key) reads from a sealed entry. */
  const openpgpReads = async (sealed: Buffer) => {
    const { data } = await openpgp.decrypt({
      message: await openpgp.readMessage({ binaryMessage: sealed }),
      decryptionKeys: key,
      format: 'binary',
    });
    return Buffer.from(data as Uint8Array);
  };

  it('is what another OpenPGP implementation decrypts (openpgp.js, with the import key), and reads back in any chunking', async () => {
    for (const size of [0, 1, 191, 8383, 8384, 300_000]) {
      const data = randomBytes(size);
      const sealed = seal(data);
      expect((await openpgpReads(sealed)).equals(data)).toBe(true);
      expect(open(sealed, 1).equals(data)).toBe(true);
      expect(open(sealed, 1 << 20).equals(data)).toBe(true);
    }
  });

  // built by scripts/build-native.sh (npm run build); AIRLOCK_NATIVE_AES=0 is the one way to run without it
  const addon =
    process.env.AIRLOCK_NATIVE_AES === '0'
      ? undefined
      : // eslint-disable-next-line @typescript-eslint/no-require-imports
        (require(nativeCfbPath() as string) as { cfbOpen: CfbOpen; cfbSealer: CfbSealer });
  const native = addon?.cfbOpen;

  it('seals natively (native/aes-cfb.c) what openpgp.js and both openers read, each chunk encrypted where it lies', async () => {
    if (process.env.AIRLOCK_NATIVE_AES === '0') return;
    const cfbSealer = (addon as { cfbSealer: CfbSealer }).cfbSealer;
    expect(() => cfbSealer(randomBytes(16))).toThrow(/^cfbSealer\(key: 32 bytes\)/);
    expect(() => cfbSealer(randomBytes(32))('text' as unknown as Buffer)).toThrow(/^seal\(data: a Buffer\)/);
    for (const size of [0, 1, 191, 8384, 300_000]) {
      const data = randomBytes(size);
      const s = seipdSealer(sessionKey, packets, size, { cfbSealer });
      const out = [s.head];
      let inPlace = 0;
      for (let i = 0; i < size; i += 7000) {
        const piece = Buffer.from(data.subarray(i, i + 7000));
        const sealed = s.update(piece);
        if (sealed === piece) inPlace++;
        out.push(Buffer.from(sealed));
      }
      out.push(s.final());
      expect(inPlace).toBe(Math.ceil(size / 7000));
      const sealed = Buffer.concat(out);
      expect((await openpgpReads(sealed)).equals(data)).toBe(true);
      expect(open(sealed, 4096).equals(data)).toBe(true);
    }
  });

  it.each([
    ['AES-NI', undefined],
    ['libcrypto', '0'],
  ])('seals natively with %s the bytes node:crypto gives for AES-256-CFB, however the stream is cut', (_, aesni) => {
    if (process.env.AIRLOCK_NATIVE_AES === '0') return;
    const was = process.env.AIRLOCK_AESNI;
    if (aesni === undefined) delete process.env.AIRLOCK_AESNI;
    else process.env.AIRLOCK_AESNI = aesni;
    try {
      const key = randomBytes(32);
      const data = randomBytes(200_003);
      const expected = createCipheriv('aes-256-cfb', key, Buffer.alloc(16)).update(data);
      for (const cuts of [[0], [1, 15, 16, 17, 100_000], [7, 8, 9, 4096, 4103]]) {
        const seal = (addon as { cfbSealer: CfbSealer }).cfbSealer(key);
        const out = Buffer.from(data);
        const at = [0, ...cuts, out.length];
        for (let i = 0; i + 1 < at.length; i++) seal(out.subarray(at[i], at[i + 1]));
        seal(out.subarray(0, 0));
        expect(out.equals(expected)).toBe(true);
      }
    } finally {
      if (was === undefined) delete process.env.AIRLOCK_AESNI;
      else process.env.AIRLOCK_AESNI = was;
    }
  });

  it('has the libcrypto opener built, which refuses what is not a key, a block and whole blocks', () => {
    if (process.env.AIRLOCK_NATIVE_AES === '0') return;
    expect(typeof native).toBe('function');
    const cfbOpen = native as CfbOpen;
    expect(() => cfbOpen(randomBytes(16), Buffer.alloc(16), Buffer.alloc(32))).toThrow(/^cfbOpen\(key: 32 bytes/);
    expect(() => cfbOpen(randomBytes(32), Buffer.alloc(15), Buffer.alloc(32))).toThrow(/^cfbOpen\(key: 32 bytes/);
    expect(() => cfbOpen(randomBytes(32), Buffer.alloc(16), Buffer.alloc(33))).toThrow(/^cfbOpen\(key: 32 bytes/);
    expect(() => (cfbOpen as unknown as (...a: unknown[]) => void)(randomBytes(32), Buffer.alloc(16), 'text')).toThrow(
      /^cfbOpen\(key: 32 bytes/,
    );
  });

  it.each([
    ['node:crypto', undefined],
    ['libcrypto (native/aes-cfb.c)', native],
  ])(
    'decrypts whole blocks where they lie when the caller gives its chunks up (inPlace, %s), and reads any other chunking too',
    (_, cfbOpen) => {
      if (process.env.AIRLOCK_NATIVE_AES !== '0') expect(native).toBeDefined();
      for (const size of [0, 1, 191, 8384, 300_000]) {
        const data = randomBytes(size);
        const sealed = seal(data);
        const skip = sessionKeyPacketsEnd(sealed) as number;
        const dataAt = seipdDataAt(sealed, skip);
        for (const chunk of [16, 4096, 4097, 1 << 20]) {
          const own = (from: number, to: number) => {
            const piece = Buffer.allocUnsafeSlow(Math.min(to, sealed.length) - from);
            sealed.copy(piece, 0, from, to);
            return piece;
          };
          const opener = seipdOpener(sessionKey, skip, { inPlace: true, cfbOpen });
          const out = [opener.update(own(0, dataAt))];
          let shared = 0;
          for (let i = dataAt; i < sealed.length; i += chunk) {
            const piece = own(i, i + chunk);
            const plain = opener.update(piece);
            if (plain.length && plain.buffer === piece.buffer) shared++;
            out.push(Buffer.from(plain));
          }
          opener.final();
          expect(Buffer.concat(out).equals(data)).toBe(true);
          // blocks past the first chunk's headers came back in the memory they arrived in (never for the unaligned chunking)
          if (chunk % 16 === 0 && size > 2 * chunk) expect(shared).toBeGreaterThan(0);
          if (chunk % 16) expect(shared).toBeLessThanOrEqual(1);
        }
      }
      // without inPlace the caller's bytes are left as they were
      const sealed = seal(randomBytes(4096));
      const before = Buffer.from(sealed);
      seipdOpener(sessionKey, sessionKeyPacketsEnd(sealed) as number).update(sealed);
      expect(sealed.equals(before)).toBe(true);
    },
  );

  it('refuses a flipped byte (MDC), a cut, bytes after the packet, and a message of another shape', async () => {
    const data = randomBytes(50_000);
    const sealed = seal(data);
    const flipped = Buffer.from(sealed);
    flipped[sealed.length - 1000] ^= 1;
    expect(() => open(flipped)).toThrow(/^BUNDLE_CORRUPT/);
    expect(() => open(sealed.subarray(0, sealed.length - 10))).toThrow(/^BUNDLE_TRUNCATED/);
    expect(() => open(Buffer.concat([sealed, Buffer.from([0])]))).toThrow(/^BUNDLE_INVALID/);
    expect(() => seipdOpener(randomBytes(32), sessionKeyPacketsEnd(sealed) as number).update(sealed)).toThrow(/^BUNDLE_DECRYPT_FAILED/);
    // what openpgp.js writes by default (partial lengths, a compressed packet inside) is not what airlock writes
    const other = Buffer.from(
      (await openpgp.encrypt({
        message: await openpgp.createMessage({ binary: data }),
        encryptionKeys: key.toPublic(),
        format: 'binary',
        config: { preferredCompressionAlgorithm: openpgp.enums.compression.zlib },
      })) as Uint8Array,
    );
    const skip = sessionKeyPacketsEnd(other);
    expect(() => {
      const o = seipdOpener(sessionKey, skip as number);
      o.update(other);
      o.final();
    }).toThrow(/^BUNDLE_(INVALID|DECRYPT_FAILED|COMPRESSED)/);
    expect(() => sessionKeyPacketsEnd(Buffer.from([0xc8, 1, 2]))).toThrow(expect.objectContaining({ code: 'BUNDLE_INVALID' }));
  });

  it('refuses a sealed literal that is compressed data instead', () => {
    // the same framing around a compressed-data packet (tag 8): refused before any data passes
    const sealed = seal(randomBytes(100));
    const skip = sessionKeyPacketsEnd(sealed) as number;
    // decrypt the SEIPD body, put tag 8 where the literal packet's tag is, encrypt it again
    const { createCipheriv, createDecipheriv } = jest.requireActual('node:crypto') as typeof import('node:crypto');
    const o = sealed[skip + 1];
    const at = skip + 1 + (o < 192 ? 1 : o < 224 ? 2 : 5) + 1;
    const plain = createDecipheriv('aes-256-cfb', sessionKey, Buffer.alloc(16)).update(sealed.subarray(at));
    plain[18] = 0xc0 | 8;
    const forged = Buffer.concat([sealed.subarray(0, at), createCipheriv('aes-256-cfb', sessionKey, Buffer.alloc(16)).update(plain)]);
    expect(() => seipdOpener(sessionKey, skip).update(forged)).toThrow(/^BUNDLE_COMPRESSED/);
  });
});
