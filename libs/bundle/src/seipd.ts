/*
 * The one OpenPGP shape a sealed entry of a format-2 bundle has, written
 * and read with node:crypto, or with the system's libcrypto doing the AES
 * (native-cfb.ts), both ways (RFC 4880 5.13 and 5.14, what gpg 2.2
 * reads): session key packets (made by openpgp.js, once per volume), then
 * one SEIPD v1 packet of definite length: AES-256-CFB with a zero IV over a
 * random 16-byte prefix and its last two bytes again, one literal packet
 * (binary, no file name, date 0) of definite length, and the MDC packet
 * (SHA-1 of everything before its digest). Sizes are known in advance, so
 * no partial lengths and an exact sealed size; the reader takes this shape
 * and nothing else.
 *
 * These functions also run on the OpenPGP threads, built from their source
 * text (pgp-thread.ts): they name nothing outside themselves but each other
 * and node:crypto (the native AES comes as an argument), and coverage
 * tools must leave them as written.
 */

import { BundleError } from './errors';
import type { CfbOpen, CfbSealer } from './native-cfb';

/** A new-format packet length: 1, 2 or 5 bytes. */
/* istanbul ignore next */
export function packetLength(n: number): Buffer {
  if (n < 192) return Buffer.from([n]);
  if (n < 8384) return Buffer.from([((n - 192) >> 8) + 192, (n - 192) & 0xff]);
  const b = Buffer.alloc(5);
  b[0] = 0xff;
  b.writeUInt32BE(n, 1);
  return b;
}

/**
 * Seals `size` plain bytes: `head` (the session key packets and the SEIPD
 * header) first, then what `update` and `final` return. With `cfbSealer`
 * (native-cfb.ts, the system's libcrypto) the caller gives up each chunk it
 * passes: it is encrypted where it lies and `update` returns that memory.
 */
/* istanbul ignore next */
export function seipdSealer(
  key: Buffer,
  sessionKeyPackets: Buffer,
  size: number,
  o: { cfbSealer?: CfbSealer } = {},
): { head: Buffer; update(c: Buffer): Buffer; final(): Buffer } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const crypto = require('node:crypto') as typeof import('node:crypto');
  const literalBody = 6 + size;
  const literal = Buffer.concat([Buffer.from([0xc0 | 11]), packetLength(literalBody), Buffer.from([0x62, 0, 0, 0, 0, 0])]);
  const seipdBody = 1 + 18 + literal.length + size + 22;
  if (seipdBody > 0xffffffff) throw new Error('a sealed part holds less than 4 GiB');
  const prefix = crypto.randomBytes(16);
  const start = Buffer.concat([prefix, prefix.subarray(14, 16), literal]);
  const seal = o.cfbSealer?.(key);
  const cipher = seal ? undefined : crypto.createCipheriv('aes-256-cfb', key, Buffer.alloc(16));
  const encrypt = (b: Buffer): Buffer => {
    if (!seal) return (cipher as import('node:crypto').Cipher).update(b);
    seal(b);
    return b;
  };
  const mdc = crypto.createHash('sha1').update(start);
  let n = 0;
  const head = Buffer.concat([sessionKeyPackets, Buffer.from([0xc0 | 18]), packetLength(seipdBody), Buffer.from([1]), encrypt(start)]);
  return {
    head,
    update(c: Buffer): Buffer {
      n += c.length;
      if (n > size) throw new Error(`the entry holds more than its ${size} bytes`);
      mdc.update(c);
      return encrypt(c);
    },
    final(): Buffer {
      if (n !== size) throw new Error(`the entry holds ${n} bytes, not ${size}`);
      const tag = Buffer.from([0xc0 | 19, 20]);
      const last = encrypt(Buffer.concat([tag, mdc.update(tag).digest()]));
      return cipher ? Buffer.concat([last, cipher.final()]) : last;
    },
  };
}

/**
 * Opens what `seipdSealer` wrote, `skip` bytes of session key packets
 * first (the caller read them for the key): `update` returns the plain data
 * of each chunk, `final` checks that the packet ended where its length says
 * and that the MDC matches. Anything else is refused with an error whose
 * message starts with its code. With `inPlace`, the caller gives up each
 * chunk it passes: a chunk that starts and ends on a cipher block boundary
 * (the opener's own count) and lies 4-byte aligned is decrypted where it
 * lies, and what `update` returns is that memory (no copy, one buffer made
 * per chunk, the AES output); `cfbOpen` (native-cfb.ts) then does it with
 * the system's libcrypto instead, when it was built.
 */
/* istanbul ignore next */
export function seipdOpener(
  key: Buffer,
  skip: number,
  o: { inPlace?: boolean; cfbOpen?: CfbOpen } = {},
): { update(c: Buffer): Buffer; final(): void } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const crypto = require('node:crypto') as typeof import('node:crypto');
  const refuse = (code: string, why: string) => new Error(`${code}: ${why}`);
  // CFB decryption, unlike encryption, needs no block before the last to be done: each block's key stream is
  // AES of the ciphertext block before it, so a whole chunk goes through AES-ECB at once and is XORed
  // (twice the speed of node:crypto's CFB here; spec'd against openpgp.js and gpg)
  const ecb = crypto.createCipheriv('aes-256-ecb', key, null).setAutoPadding(false);
  let previous = Buffer.alloc(16);
  let carry: Buffer = Buffer.alloc(0);
  const xor = (ks: Buffer, c: Buffer): Buffer => {
    const out = Buffer.allocUnsafeSlow(c.length);
    if (ks.byteOffset % 4 === 0 && c.byteOffset % 4 === 0 && c.length % 4 === 0) {
      const a = new Int32Array(ks.buffer, ks.byteOffset, c.length >> 2);
      const b = new Int32Array(c.buffer, c.byteOffset, c.length >> 2);
      const o = new Int32Array(out.buffer, 0, c.length >> 2);
      for (let i = 0; i < o.length; i++) o[i] = a[i] ^ b[i];
    } else for (let i = 0; i < c.length; i++) out[i] = ks[i] ^ c[i];
    return out;
  };
  /** Decrypts a whole number of blocks where they lie: block i's key stream is AES of block i - 1 (of `previous` for the first). */
  const inPlace = (c: Buffer): Buffer => {
    if (o.cfbOpen) {
      o.cfbOpen(key, previous, c);
      return c;
    }
    const first = ecb.update(previous);
    const ks = ecb.update(c);
    previous = Buffer.from(c.subarray(c.length - 16));
    if (ks.byteOffset % 4 === 0) {
      const k = new Int32Array(ks.buffer, ks.byteOffset, c.length >> 2);
      const p = new Int32Array(c.buffer, c.byteOffset, c.length >> 2);
      for (let i = 4; i < p.length; i++) p[i] ^= k[i - 4];
    } else for (let i = 16; i < c.length; i++) c[i] ^= ks[i - 16];
    for (let i = 0; i < 16; i++) c[i] ^= first[i];
    return c;
  };
  const decipher = {
    update(c: Buffer): Buffer {
      if (o.inPlace && !carry.length && c.length && c.length % 16 === 0 && c.byteOffset % 4 === 0) return inPlace(c);
      const data = carry.length ? Buffer.concat([carry, c]) : c;
      const full = data.length - (data.length % 16);
      carry = Buffer.from(data.subarray(full));
      if (!full) return Buffer.alloc(0);
      const shifted = Buffer.allocUnsafeSlow(full);
      previous.copy(shifted, 0);
      data.copy(shifted, 16, 0, full - 16);
      const out = xor(ecb.update(shifted), data.subarray(0, full));
      previous = Buffer.from(data.subarray(full - 16, full));
      return out;
    },
    final(): Buffer {
      return carry.length ? xor(ecb.update(previous).subarray(0, carry.length), carry) : Buffer.alloc(0);
    },
  };
  const mdc = crypto.createHash('sha1');
  let toSkip = skip;
  let header: Buffer = Buffer.alloc(0);
  // the SEIPD packet's bytes still to come (known once its header is read); its plain text is read in stages
  let remaining = -1;
  let stage: 'prefix' | 'literal' | 'data' | 'mdc' | 'done' = 'prefix';
  let pending: Buffer = Buffer.alloc(0);
  let dataLeft = 0;
  /** The length at `b[at]` of a new-format packet header: [length, header bytes], or undefined when more bytes are needed; partial lengths are refused. */
  const lengthAt = (b: Buffer, at: number): [number, number] | undefined => {
    if (b.length <= at) return undefined;
    const o = b[at];
    if (o < 192) return [o, 1];
    if (o < 224) return b.length > at + 1 ? [((o - 192) << 8) + b[at + 1] + 192, 2] : undefined;
    if (o === 255) return b.length >= at + 5 ? [b.readUInt32BE(at + 1), 5] : undefined;
    throw refuse('BUNDLE_INVALID', 'an entry uses partial lengths, which airlock never writes');
  };
  const plain = (p: Buffer): Buffer => {
    const out: Buffer[] = [];
    pending = pending.length ? Buffer.concat([pending, p]) : p;
    for (;;) {
      if (stage === 'prefix') {
        if (pending.length < 18) break;
        if (pending[16] !== pending[14] || pending[17] !== pending[15])
          throw refuse(
            'BUNDLE_DECRYPT_FAILED',
            "an entry does not open with this side's import key (its session key is not the one its packets carry)",
          );
        mdc.update(pending.subarray(0, 18));
        pending = pending.subarray(18);
        stage = 'literal';
      } else if (stage === 'literal') {
        if (pending.length < 1) break;
        const tag = pending[0];
        if (tag === (0xc0 | 8) || (tag & 0xfc) === 0xa0)
          throw refuse('BUNDLE_COMPRESSED', 'an entry holds OpenPGP compressed data, which airlock never writes; refusing it unread');
        if (tag !== (0xc0 | 11)) throw refuse('BUNDLE_INVALID', 'an entry must hold one literal data packet and nothing else');
        const len = lengthAt(pending, 1);
        if (!len || pending.length < 1 + len[1] + 6) break;
        const nameLength = pending[1 + len[1] + 1];
        const fields = 1 + len[1] + 2 + nameLength + 4;
        if (pending.length < fields) break;
        if (len[0] < 6 + nameLength) throw refuse('BUNDLE_INVALID', 'an entry has a literal packet shorter than its own fields');
        dataLeft = len[0] - 6 - nameLength;
        mdc.update(pending.subarray(0, fields));
        pending = pending.subarray(fields);
        stage = 'data';
      } else if (stage === 'data') {
        const take = pending.subarray(0, dataLeft);
        if (take.length) {
          mdc.update(take);
          out.push(take);
          dataLeft -= take.length;
          pending = pending.subarray(take.length);
        }
        if (dataLeft > 0) break;
        stage = 'mdc';
      } else if (stage === 'mdc') {
        if (pending.length < 22) break;
        if (pending[0] !== (0xc0 | 19) || pending[1] !== 20)
          throw refuse('BUNDLE_INVALID', 'an entry holds more than one literal packet, or no MDC after it');
        if (!mdc.update(pending.subarray(0, 2)).digest().equals(pending.subarray(2, 22)))
          throw refuse('BUNDLE_CORRUPT', 'an entry failed its integrity check (MDC)');
        pending = pending.subarray(22);
        stage = 'done';
      } else {
        if (pending.length) throw refuse('BUNDLE_INVALID', 'an entry holds bytes after its MDC');
        break;
      }
    }
    return out.length === 1 ? out[0] : Buffer.concat(out);
  };
  return {
    update(c: Buffer): Buffer {
      if (toSkip) {
        const n = Math.min(toSkip, c.length);
        toSkip -= n;
        c = c.subarray(n);
      }
      if (remaining < 0) {
        header = header.length ? Buffer.concat([header, c]) : c;
        if (!header.length) return Buffer.alloc(0);
        if (header[0] !== (0xc0 | 18))
          throw refuse('BUNDLE_INVALID', 'an entry must be session keys and one SEIPD v1 packet, which airlock writes; this one is not');
        const len = lengthAt(header, 1);
        if (!len || header.length < 1 + len[1] + 1) return Buffer.alloc(0);
        if (header[1 + len[1]] !== 1) throw refuse('BUNDLE_INVALID', 'an entry is not a SEIPD v1 packet');
        remaining = len[0] - 1;
        c = header.subarray(1 + len[1] + 1);
        header = Buffer.alloc(0);
      }
      if (c.length > remaining) throw refuse('BUNDLE_INVALID', 'an entry holds bytes after its SEIPD packet');
      remaining -= c.length;
      return c.length ? plain(decipher.update(c)) : Buffer.alloc(0);
    },
    final(): void {
      if (toSkip || remaining !== 0) throw refuse('BUNDLE_TRUNCATED', 'an entry ends before its SEIPD packet does');
      plain(decipher.final());
      if (stage !== 'done') throw refuse('BUNDLE_TRUNCATED', 'an entry ends before its MDC');
    },
  };
}

/**
 * Where the session key packets of a sealed entry end: its first bytes
 * hold public-key encrypted session key packets (tag 1, new format,
 * definite lengths), then the SEIPD packet's tag. Returns that offset, or
 * undefined when `b` is too short to say; anything else is refused.
 */
export function sessionKeyPacketsEnd(b: Buffer): number | undefined {
  let at = 0;
  for (let i = 0; i < 16; i++) {
    if (b.length <= at) return undefined;
    if (b[at] === (0xc0 | 18)) return at ? at : refuseShape();
    if (b[at] !== (0xc0 | 1)) return refuseShape();
    const o = b[at + 1];
    if (o === undefined) return undefined;
    let len: number;
    let hl: number;
    if (o < 192) [len, hl] = [o, 1];
    else if (o < 224) [len, hl] = [((o - 192) << 8) + (b[at + 2] ?? 0) + 192, 2];
    else if (o === 255) [len, hl] = [b.length >= at + 6 ? b.readUInt32BE(at + 2) : 0, 5];
    else return refuseShape();
    if (len > 4096) return refuseShape();
    at += 1 + hl + len;
  }
  return refuseShape();
}

/**
 * Where the encrypted data of a sealed entry starts, after the SEIPD packet's
 * tag, length and version (at `skip`, where the session key packets end):
 * 0 when `b` does not hold that header in a form with a definite length.
 */
export function seipdDataAt(b: Buffer, skip: number): number {
  const o = b[skip + 1];
  const lengthBytes = o === undefined ? 0 : o < 192 ? 1 : o < 224 ? 2 : o === 255 ? 5 : 0;
  return lengthBytes && skip + 2 + lengthBytes <= b.length ? skip + 2 + lengthBytes : 0;
}

function refuseShape(): never {
  throw new BundleError(
    'BUNDLE_INVALID',
    'an entry must be session key packets and one SEIPD v1 packet, which airlock writes; this one is not',
  );
}
