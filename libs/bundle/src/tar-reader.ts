import { BundleError } from './errors';

/**
 * A strict reader of the bundle's tar stream. It accepts exactly what the
 * bundle writer produces and what GNU tar (the break-glass path) reads the
 * same way: ustar headers with a valid checksum, regular files, pax extended
 * headers that only name a path or size, and an end of archive made of zero
 * blocks with nothing but zeros after it. Everything else is a refusal with
 * a code, never a silent stop: a stream that ends early is BUNDLE_TRUNCATED,
 * bytes after the end-of-archive are BUNDLE_TRAILING_DATA, links, devices,
 * folders and other entry types are BUNDLE_UNSAFE_ENTRY.
 */

const BLOCK = 512;
/** pax keys that only describe an entry; any other (sparse maps, links, charsets) could make GNU tar read the entry differently. */
const PAX_KEYS = new Set(['path', 'size', 'mtime', 'atime', 'ctime']);
const MAX_PAX_BYTES = 64 << 10;

export interface TarEntry {
  name: string;
  size: number;
  /** Exactly `size` bytes; read it to the end, or not at all, before asking for the next entry. */
  body: AsyncIterable<Buffer>;
}

const truncated = (where: string) => new BundleError('BUNDLE_TRUNCATED', `the bundle's archive ends ${where}: the bundle is truncated`);
const invalid = (what: string) => new BundleError('BUNDLE_INVALID', `the bundle's archive is not valid: ${what}`);
const padded = (n: number) => Math.ceil(n / BLOCK) * BLOCK;

function isZero(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/** Exact byte counts out of a stream of chunks. */
class Bytes {
  private buf: Buffer = Buffer.alloc(0);
  private ended = false;
  /** Bytes handed out so far. */
  offset = 0;

  constructor(private readonly it: AsyncIterator<Uint8Array>) {}

  private async more(): Promise<boolean> {
    if (this.ended) return false;
    const r = await this.it.next();
    if (r.done) {
      this.ended = true;
      return false;
    }
    const c = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
    this.buf = this.buf.length ? Buffer.concat([this.buf, c]) : c;
    return true;
  }

  /** `n` bytes, or fewer when the stream ends first. */
  async read(n: number): Promise<Buffer> {
    while (this.buf.length < n && (await this.more()));
    const out = this.buf.subarray(0, Math.min(n, this.buf.length));
    this.buf = this.buf.subarray(out.length);
    this.offset += out.length;
    return out;
  }

  /** Up to `n` bytes, in the pieces they came in. */
  async *pieces(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (!this.buf.length && !(await this.more())) return;
      const take = this.buf.subarray(0, Math.min(left, this.buf.length));
      this.buf = this.buf.subarray(take.length);
      this.offset += take.length;
      left -= take.length;
      yield take;
    }
  }
}

/** A numeric header field: octal text, or GNU's base-256 for sizes past 8 GiB. */
function numeric(h: Buffer, off: number, len: number, what: string): number {
  const f = h.subarray(off, off + len);
  if (f[0] & 0x80) {
    if (f[0] !== 0x80) throw invalid(`a negative ${what}`);
    let v = 0;
    for (let i = 1; i < len; i++) v = v * 256 + f[i];
    if (!Number.isSafeInteger(v)) throw invalid(`a ${what} too large`);
    return v;
  }
  const s = f
    .toString('latin1')
    .replace(/[\0 ]+$/, '')
    .replace(/^ +/, '');
  if (!/^[0-7]*$/.test(s)) throw invalid(`the ${what} field of a header is not a number`);
  return s ? parseInt(s, 8) : 0;
}

const text = (h: Buffer, off: number, len: number): string => {
  const f = h.subarray(off, off + len);
  const end = f.indexOf(0);
  return f.subarray(0, end < 0 ? len : end).toString('latin1');
};

interface Header {
  name: string;
  size: number;
  type: string;
}

function parseHeader(h: Buffer, at: number): Header {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i];
  if (numeric(h, 148, 8, 'checksum') !== sum) throw invalid(`the header at byte ${at} has a wrong checksum`);
  const magic = h.subarray(257, 265).toString('latin1');
  if (magic !== 'ustar\u000000' && magic !== 'ustar  \u0000') throw invalid(`the header at byte ${at} is not a ustar header`);
  // the prefix field is POSIX ustar's; GNU's format keeps times there
  const prefix = magic === 'ustar\u000000' ? text(h, 345, 155) : '';
  const name = text(h, 0, 100);
  return {
    name: prefix ? `${prefix}/${name}` : name,
    size: numeric(h, 124, 12, 'size'),
    type: h[156] === 0 ? '0' : String.fromCharCode(h[156]),
  };
}

/** The records of a pax extended header ("LEN key=value\n"), each key once and only the keys that describe an entry. */
function parsePax(b: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  while (i < b.length) {
    const sp = b.indexOf(0x20, i);
    const len = sp > i ? Number(b.subarray(i, sp).toString('latin1')) : NaN;
    if (!Number.isSafeInteger(len) || len <= sp - i + 1 || i + len > b.length || b[i + len - 1] !== 0x0a)
      throw invalid('a malformed pax record');
    const rec = b.subarray(sp + 1, i + len - 1).toString('utf8');
    const eq = rec.indexOf('=');
    if (eq <= 0) throw invalid('a malformed pax record');
    const key = rec.slice(0, eq);
    if (!PAX_KEYS.has(key))
      throw new BundleError(
        'BUNDLE_UNSAFE_ENTRY',
        `the bundle's archive carries the pax key ${JSON.stringify(key.slice(0, 64))}, which airlock does not write`,
      );
    if (out.has(key)) throw invalid(`the pax key ${key} appears twice`);
    out.set(key, rec.slice(eq + 1));
    i += len;
  }
  return out;
}

const TYPES: Record<string, string> = {
  '1': 'hard link',
  '2': 'symbolic link',
  '3': 'character device',
  '4': 'block device',
  '5': 'folder',
  '6': 'FIFO',
  g: 'global pax header',
  L: 'GNU long name',
  K: 'GNU long link',
  S: 'sparse file',
};

/**
 * The regular files of a tar stream, in order. Throws a BundleError for
 * anything outside the rules above; ends only after the end-of-archive and
 * the zero padding after it have been read to the end of the stream.
 */
export async function* readTar(src: AsyncIterable<Uint8Array>): AsyncGenerator<TarEntry> {
  const b = new Bytes(src[Symbol.asyncIterator]());
  let pax: Map<string, string> | undefined;
  for (;;) {
    const at = b.offset;
    const h = await b.read(BLOCK);
    if (h.length === 0) throw truncated(pax ? 'after an extended header' : 'without its end-of-archive blocks');
    if (h.length < BLOCK) throw truncated('in the middle of a header');
    if (isZero(h)) {
      if (pax) throw invalid('an extended header is followed by the end of the archive');
      const second = await b.read(BLOCK);
      if (second.length < BLOCK) throw truncated('after a lone zero block (the end-of-archive marker is two)');
      if (!isZero(second))
        throw new BundleError(
          'BUNDLE_TRAILING_DATA',
          `the bundle's archive holds data after its end-of-archive marker (byte ${at + BLOCK}), which GNU tar would not read`,
        );
      for await (const p of b.pieces(Infinity))
        if (!isZero(p))
          throw new BundleError(
            'BUNDLE_TRAILING_DATA',
            `the bundle's archive holds data after its end-of-archive marker (after byte ${at}), which GNU tar would not read`,
          );
      return;
    }
    const hdr = parseHeader(h, at);
    if (hdr.type === 'x') {
      if (pax) throw invalid('two extended headers in a row');
      if (hdr.size > MAX_PAX_BYTES) throw invalid('an extended header larger than 64 KiB');
      const body = await b.read(padded(hdr.size));
      if (body.length < padded(hdr.size)) throw truncated('in the middle of an extended header');
      pax = parsePax(body.subarray(0, hdr.size));
      continue;
    }
    const name = pax?.get('path') ?? hdr.name;
    if (hdr.type !== '0')
      throw new BundleError(
        'BUNDLE_UNSAFE_ENTRY',
        `entry ${JSON.stringify(name.slice(0, 200))} is a ${TYPES[hdr.type] ?? `tar entry of type ${JSON.stringify(hdr.type)}`}, not a regular file`,
      );
    let size = hdr.size;
    const paxSize = pax?.get('size');
    if (paxSize !== undefined) {
      if (!/^\d{1,16}$/.test(paxSize) || Number(paxSize) !== hdr.size)
        throw invalid(`entry ${JSON.stringify(name.slice(0, 200))} has two different sizes (header and pax)`);
      size = Number(paxSize);
    }
    pax = undefined;
    let left = size;
    const body = (async function* () {
      for await (const p of b.pieces(left)) {
        left -= p.length;
        yield p;
      }
      if (left) throw truncated(`in the middle of entry ${name}`);
    })();
    yield { name, size, body };
    // what the consumer left unread, then the padding to the next block
    for await (const p of b.pieces(left)) left -= p.length;
    if (left) throw truncated(`in the middle of entry ${name}`);
    const pad = padded(size) - size;
    if ((await b.read(pad)).length < pad) throw truncated(`in the padding after entry ${name}`);
  }
}
