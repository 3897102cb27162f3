import { createWriteStream, promises as fs } from 'node:fs';
import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import type archiverModule from 'archiver';
import type { Open as OpenModule } from 'unzipper';
import { BundleError } from './errors';
import { ReadOnce } from './read-once';

/** The only names a format-2 volume holds: the signed index, and opaque entry names (`.pgp` when sealed). */
export const VOLUME_ENTRY_NAME = /^(index\.pgp|e\/[0-9]{6}(\.pgp)?)$/;

const LOCAL_HEADER = 0x04034b50;
const DATA_DESCRIPTOR = 0x08074b50;
/** airlock writes no extra field but zip64's (28 bytes at most); anything larger is refused unread. */
const MAX_EXTRA = 64;
const ZIP32_MAX = 0xffffffff;

/** One entry of a volume, where its stored bytes lie. */
export interface ZipEntry {
  name: string;
  size: number;
  /** Offset of the first byte of its data. */
  offset: number;
}

/** A volume, its central directory read and checked against every local header. */
export interface ZipVolume {
  path: string;
  size: number;
  entries: Map<string, ZipEntry>;
}

const invalid = (path: string, why: string) =>
  new BundleError('BUNDLE_INVALID', `${path.split('/').pop()} is not a volume airlock reads: ${why}`);

async function readAt(fh: fs.FileHandle, offset: number, length: number): Promise<Buffer> {
  const b = Buffer.alloc(length);
  const { bytesRead } = await fh.read(b, 0, length, offset);
  return b.subarray(0, bytesRead);
}

/**
 * Opens a volume by its central directory (unzipper's `Open.file`: random
 * access, nothing extracted) and holds it to what airlock writes: entries
 * stored (never compressed or encrypted), names of the index or opaque
 * entries only, each name once, no comment, extra fields of a sane size,
 * and every local header saying what the central directory says, the
 * entries one after another from the first byte to the central directory
 * (so none overlaps another or hides bytes between them), the central
 * directory ending where its end record begins. Sizes are checked against
 * the file; the entries' bytes are read later, by `readEntry`.
 */
export async function openZipVolume(path: string, o: { maxEntries: number }): Promise<ZipVolume> {
  const size = (await fs.stat(path)).size;
  // the end record must be the last 22 bytes: no comment, nothing after it
  const fh = await fs.open(path, 'r');
  try {
    const end = await readAt(fh, Math.max(0, size - 22), 22);
    if (end.length < 22 || end.readUInt32LE(0) !== 0x06054b50 || end.readUInt16LE(20) !== 0)
      throw new BundleError(
        'BUNDLE_VOLUME_CORRUPT',
        `${path.split('/').pop()} does not end in a zip end record (cut short or damaged, or a comment or data after it, which airlock never writes)`,
      );
    let dir: Awaited<ReturnType<typeof Open.file>>;
    try {
      dir = await (Open.file as (p: string, o: unknown) => ReturnType<typeof Open.file>)(path, { tailSize: 22 });
    } catch (e) {
      throw invalid(path, `its central directory cannot be read (${(e as Error).message})`);
    }
    const d = dir as unknown as {
      numberOfRecords: number;
      sizeOfCentralDirectory: number;
      offsetToStartOfCentralDirectory: number;
      files: Record<string, unknown>[];
    };
    if (!Number.isSafeInteger(d.numberOfRecords) || d.numberOfRecords > o.maxEntries)
      throw new BundleError('BUNDLE_TOO_LARGE', `${path.split('/').pop()} claims ${d.numberOfRecords} entries, more than ${o.maxEntries}`);
    const zip64 = end.readUInt32LE(16) === ZIP32_MAX || end.readUInt16LE(10) === 0xffff;
    const cdEnd = d.offsetToStartOfCentralDirectory + d.sizeOfCentralDirectory;
    if (cdEnd !== size - 22 - (zip64 ? 56 + 20 : 0)) throw invalid(path, 'its central directory does not end where its end record begins');
    const entries = new Map<string, ZipEntry>();
    let cdBytes = 0;
    const spans: { start: number; end: number; name: string }[] = [];
    for (const f of dir.files as unknown as {
      path: string;
      pathBuffer: Buffer;
      flags: number;
      compressionMethod: number;
      compressedSize: number;
      uncompressedSize: number;
      extraFieldLength: number;
      fileNameLength: number;
      fileCommentLength: number;
      offsetToLocalFileHeader: number;
    }[]) {
      cdBytes += 46 + f.fileNameLength + f.extraFieldLength + f.fileCommentLength;
      const name = f.pathBuffer.toString('utf8');
      if (!VOLUME_ENTRY_NAME.test(name) || !f.pathBuffer.equals(Buffer.from(name)))
        throw new BundleError(
          'BUNDLE_UNSAFE_ENTRY',
          `${path.split('/').pop()} holds an entry named ${JSON.stringify(name.slice(0, 100))}: not a name airlock writes (.., absolute, backslash, NUL or unknown)`,
        );
      if (entries.has(name)) throw new BundleError('BUNDLE_UNSAFE_ENTRY', `${path.split('/').pop()} holds two entries named ${name}`);
      if (f.compressionMethod !== 0)
        throw new BundleError(
          'BUNDLE_COMPRESSED',
          `entry ${name} of ${path.split('/').pop()} is compressed (method ${f.compressionMethod}); airlock stores entries only`,
        );
      if (f.flags & 0x1) throw invalid(path, `entry ${name} uses zip encryption`);
      if (f.extraFieldLength > MAX_EXTRA || f.fileCommentLength)
        throw invalid(path, `entry ${name} has an extra field of ${f.extraFieldLength} bytes or a comment`);
      if (f.compressedSize !== f.uncompressedSize || !Number.isSafeInteger(f.compressedSize) || f.compressedSize < 0)
        throw invalid(path, `entry ${name} has sizes that disagree`);
      const off = f.offsetToLocalFileHeader;
      const local = await readAt(fh, off, 30);
      if (local.length < 30 || local.readUInt32LE(0) !== LOCAL_HEADER)
        throw invalid(path, `entry ${name} has no local header where the central directory says`);
      const nameLen = local.readUInt16LE(26);
      const extraLen = local.readUInt16LE(28);
      if (extraLen > MAX_EXTRA) throw invalid(path, `entry ${name} has a local extra field of ${extraLen} bytes`);
      const localName = await readAt(fh, off + 30, nameLen);
      const localFlags = local.readUInt16LE(6);
      if (!localName.equals(f.pathBuffer) || local.readUInt16LE(8) !== f.compressionMethod || (localFlags & 0x9) !== (f.flags & 0x9))
        throw invalid(path, `the local header of entry ${name} disagrees with the central directory`);
      const dataStart = off + 30 + nameLen + extraLen;
      let dataEnd = dataStart + f.compressedSize;
      if (localFlags & 0x8) {
        // a data descriptor follows the data: [signature] crc, sizes (8 bytes each in zip64)
        const dd = await readAt(fh, dataEnd, 24);
        const sig = dd.length >= 4 && dd.readUInt32LE(0) === DATA_DESCRIPTOR ? 4 : 0;
        const wide = f.compressedSize >= ZIP32_MAX || extraLen > 0;
        const need = sig + 4 + (wide ? 16 : 8);
        if (dd.length < need) throw new BundleError('BUNDLE_TRUNCATED', `entry ${name} of ${path.split('/').pop()} is cut short`);
        const csize = wide ? Number(dd.readBigUInt64LE(sig + 4)) : dd.readUInt32LE(sig + 4);
        const usize = wide ? Number(dd.readBigUInt64LE(sig + 12)) : dd.readUInt32LE(sig + 8);
        if (csize !== f.compressedSize || usize !== f.uncompressedSize)
          throw invalid(path, `the sizes after entry ${name} disagree with the central directory`);
        dataEnd += need;
      } else {
        const lc = local.readUInt32LE(18);
        const lu = local.readUInt32LE(22);
        if ((lc !== ZIP32_MAX && lc !== f.compressedSize) || (lu !== ZIP32_MAX && lu !== f.uncompressedSize))
          throw invalid(path, `the local sizes of entry ${name} disagree with the central directory`);
      }
      if (dataEnd > d.offsetToStartOfCentralDirectory)
        throw new BundleError(
          'BUNDLE_TRUNCATED',
          `entry ${name} of ${path.split('/').pop()} runs past the central directory (a size that lies, or a volume cut short)`,
        );
      spans.push({ start: off, end: dataEnd, name });
      entries.set(name, { name, size: f.compressedSize, offset: dataStart });
    }
    if (cdBytes !== d.sizeOfCentralDirectory) throw invalid(path, 'its central directory is not the size its end record says');
    spans.sort((a, b) => a.start - b.start);
    let at = 0;
    for (const s of spans) {
      if (s.start !== at)
        throw invalid(
          path,
          s.start < at ? `entry ${s.name} overlaps the one before it` : `there are bytes no entry owns before entry ${s.name}`,
        );
      at = s.end;
    }
    if (at !== d.offsetToStartOfCentralDirectory) throw invalid(path, 'there are bytes no entry owns before the central directory');
    return { path, size, entries };
  } finally {
    await fh.close();
  }
}

/** The stored bytes of one entry (a slice of the volume file, read once; nothing is ever written under a name taken from the archive). */
export function readEntry(v: ZipVolume, e: ZipEntry, o: { start?: number } = {}): Readable {
  const start = e.offset + (o.start ?? 0);
  if (start >= e.offset + e.size) return Readable.from([]);
  return new ReadOnce(v.path, start, e.offset + e.size);
}

/**
 * An entry's bytes in memory, for the small ones (the index, an entry's
 * packet headers), refused past `max`: one read, its pages kept, since
 * they are read again (the index by every command, the headers by the
 * entry's own read).
 */
export async function readEntryBytes(v: ZipVolume, e: ZipEntry, max: number): Promise<Buffer> {
  if (e.size > max)
    throw new BundleError('BUNDLE_TOO_LARGE', `entry ${e.name} of ${v.path.split('/').pop()} has ${e.size} bytes, more than ${max}`);
  const fh = await fs.open(v.path, 'r');
  try {
    return await readAt(fh, e.offset, e.size);
  } finally {
    await fh.close();
  }
}

const MTIME = new Date('2000-01-01T00:00:00Z');

/**
 * archiver computes each entry's CRC-32 with the crc-32 package, in
 * JavaScript: about 1 s of the writing thread per GiB, as much as the rest
 * of its work. Node's zlib.crc32 (native, 20.15+) gives the same values ten
 * times faster; the package's `buf` is pointed at it, once, keeping its
 * contract (a signed 32-bit result; the running value as seed, where
 * crc32-stream's first call passes a Buffer, which crc-32 reads as 0).
 * zip-volume.spec.ts checks the two agree; `unzip` checks the CRCs of what
 * the break-glass test opens.
 */
/**
 * unzipper's `Open` only: its package index also loads Parse, ParseOne and
 * Extract (with fs-extra), which airlock never uses, at a cost of about
 * 30 ms at every start of a command that reads bundles.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Open = require('unzipper/lib/Open') as typeof OpenModule;

function nativeCrc32(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const crc = require('crc-32') as { buf(data: Uint8Array, seed?: unknown): number; native?: boolean };
  if (crc.native) return;
  crc.buf = (data: Uint8Array, seed?: unknown) => crc32(data, typeof seed === 'number' ? seed >>> 0 : 0) | 0;
  crc.native = true;
}

/**
 * Writes one volume with archiver, in store mode (layers are compressed
 * already; zip64 where sizes need it), from entries opened one at a time in
 * order, each streamed through; the file is synced before this resolves.
 */
export async function writeZipVolume(path: string, entries: AsyncIterable<{ name: string; body: Readable }>): Promise<{ size: number }> {
  nativeCrc32();
  // loaded here: a command that only reads bundles (inspect, import) does not pay for loading it
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const archiver = require('archiver') as typeof archiverModule;
  const zip = archiver('zip', { store: true, forceLocalTime: false });
  const out = createWriteStream(path, { flags: 'wx', highWaterMark: 1 << 20 });
  const closed = new Promise<void>((res, rej) => {
    out.on('close', res);
    out.on('error', rej);
    zip.on('error', rej);
  });
  zip.pipe(out);
  try {
    for await (const { name, body } of entries) {
      const taken = new Promise<void>((res, rej) => {
        const onEntry = () => {
          body.off('error', rej);
          res();
        };
        zip.once('entry', onEntry);
        body.once('error', (e) => {
          zip.off('entry', onEntry);
          rej(e);
        });
      });
      zip.append(body, { name, date: MTIME, mode: 0o644 });
      await Promise.race([taken, closed.then(() => Promise.reject(new Error('the volume closed early')))]);
    }
    await zip.finalize();
    await closed;
  } catch (e) {
    zip.abort();
    out.destroy();
    await closed.catch(() => undefined);
    throw e;
  }
  const fh = await fs.open(path, 'r+');
  try {
    await fh.sync();
    return { size: (await fh.stat()).size };
  } finally {
    await fh.close();
  }
}
