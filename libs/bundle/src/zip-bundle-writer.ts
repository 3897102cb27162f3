import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import * as openpgp from 'openpgp';
import { BundleError } from './errors';
import { BundleManifest } from './bundle-manifest';
import { BUNDLE_FORMAT_2, BundleIndex, EntryRole, IndexEntry, IndexPart, volumeName } from './bundle-index';
import { VolumeInfo } from './volume-writer';
import { PGP_THREADS, runPgpThread } from './pgp-thread';
import { writeZipVolume } from './zip-volume';
import { checkedBytes } from './checked-bytes';
import { removeStaleTemporaries } from './bundle-writer';

/** An entry to carry, before it is placed. */
export interface PlannedEntry {
  path: string;
  role: EntryRole;
  size: number;
  sha256: string;
}

export interface WriteBundle2Options {
  /** The header of the index: everything of bundle.json but its format and entries. */
  header: Omit<BundleManifest, 'format' | 'entries'>;
  entries: PlannedEntry[];
  /** Opens an entry's plain bytes from `offset` on; what is read is checked against the index. */
  open(entry: PlannedEntry, offset: number): Promise<Readable>;
  signingKey: openpgp.PrivateKey;
  /** Seal the index and every entry to these keys (SEIPD v1, readable by gpg 2.2); stored plain, the index only signed, when absent. */
  encryptTo?: openpgp.Key[];
  outDir: string;
  maxVolumeBytes: number;
  onProgress?(bytes: number): void;
}

/** Room a part takes besides its bytes: its zip headers (local, zip64 extra, data descriptor, central record). */
const ZIP_PER_PART = 256;
/** OpenPGP around a sealed part (seipd.ts): the SEIPD and literal headers, prefix and MDC, and per recipient its session key packet (RSA-4096: 524 bytes). */
const SEAL_FIXED = 128;
const SEAL_PER_RECIPIENT = 1024;
const sealedSize = (plain: number, recipients: number) => (recipients ? plain + SEAL_FIXED + SEAL_PER_RECIPIENT * recipients : plain);
/** The largest part: a SEIPD packet of definite length holds less than 4 GiB. */
const MAX_PART = 2 ** 32 - 2 ** 20;
/** The largest plain part whose sealed form fits `room`. */
const plainFitting = (room: number, recipients: number) =>
  Math.min(MAX_PART, recipients ? room - SEAL_FIXED - SEAL_PER_RECIPIENT * recipients : room);

/** A bundle larger than this is written as several volumes, so that each sealing thread writes one. */
export const PARALLEL_ABOVE = 256 << 20;

/**
 * How large the volumes are made: `max` (volumeSizeMiB), or smaller for a
 * bundle larger than PARALLEL_ABOVE, so that there are at least as many
 * volumes as sealing threads: volumes are written side by side (a zip is
 * written in order), and the threads seal in parallel only across volumes.
 */
function volumeBytes(entries: PlannedEntry[], max: number, reserve: number, recipients: number): number {
  const total = entries.reduce((a, e) => a + ZIP_PER_PART + sealedSize(e.size, recipients), 0);
  if (total <= PARALLEL_ABOVE || PGP_THREADS < 2) return max;
  return Math.min(max, Math.ceil(total / PGP_THREADS) + reserve + (1 << 20));
}

/**
 * Places the entries into volumes: the small ones first, whole (one that
 * does not fit the room left opens the next volume), then the blobs, a blob
 * larger than the room left split into parts. Every volume keeps `reserve`
 * bytes for the index and the zip's end.
 */
export function placeEntries(
  entries: PlannedEntry[],
  o: { maxVolumeBytes: number; reserve: number; recipients: number },
): { entries: IndexEntry[]; volumes: number } {
  const room = o.maxVolumeBytes - o.reserve;
  if (room < ZIP_PER_PART + sealedSize(1 << 16, o.recipients))
    throw new BundleError('BUNDLE_WRITE_FAILED', `volumeSizeMiB is too small for this bundle's index (${o.reserve} bytes)`);
  const ordered = [...entries.filter((e) => e.role !== 'blob'), ...entries.filter((e) => e.role === 'blob')];
  let volume = 1;
  let used = 0;
  let n = 0;
  const name = () => `e/${String(++n).padStart(6, '0')}${o.recipients ? '.pgp' : ''}`;
  const out: IndexEntry[] = [];
  for (const e of ordered) {
    const parts: IndexPart[] = [];
    let left = e.size;
    do {
      const free = room - used - ZIP_PER_PART;
      const fits = plainFitting(free, o.recipients);
      if (left > fits && (e.role !== 'blob' || fits < 1 << 16)) {
        if (used === 0)
          throw new BundleError('BUNDLE_WRITE_FAILED', `${e.path} (${e.size} bytes) does not fit in a volume of ${o.maxVolumeBytes} bytes`);
        volume++;
        used = 0;
        continue;
      }
      const take = Math.min(left, fits);
      parts.push({ volume, entry: name(), size: take, sha256: take === e.size ? e.sha256 : '' });
      used += ZIP_PER_PART + sealedSize(take, o.recipients);
      left -= take;
    } while (left > 0);
    out.push({ ...e, parts });
  }
  return { entries: out, volumes: volume };
}

/** The first `size` bytes of a stream (the rest is left unread and the stream closed). */
async function* firstBytes(src: Readable, size: number): AsyncGenerator<Buffer> {
  let left = size;
  try {
    for await (const c of src) {
      const b = c as Buffer;
      if (b.length >= left) {
        if (left) yield b.subarray(0, left);
        return;
      }
      left -= b.length;
      yield b;
    }
  } finally {
    src.destroy();
  }
}

/** The SHA-256 of every part of a split entry: read once, before anything is written (only a blob across a volume boundary is split). */
async function hashParts(e: IndexEntry, open: WriteBundle2Options['open']): Promise<void> {
  let at = 0;
  for (const p of e.parts) {
    const h = createHash('sha256');
    let n = 0;
    for await (const c of firstBytes(await open(e, at), p.size)) {
      h.update(c);
      n += c.length;
    }
    if (n !== p.size) throw new BundleError('BUNDLE_DIGEST_MISMATCH', `${e.path} is shorter than its ${e.size} bytes`);
    p.sha256 = h.digest('hex');
    at += p.size;
  }
}

/**
 * Writes a format-2 bundle: the entries placed into volumes, the index
 * (signed by the sender, sealed to the recipients) written into every one,
 * each entry sealed on its own on the thread pool, volumes written side by
 * side (each one zip, in store mode). The index, its sealed bytes and what
 * each volume became are also kept beside the volumes (`.plan.json`,
 * `.index.pgp`), for `rewriteVolumes`. Volumes appear under their final
 * names only when all of them are written and synced.
 */
export async function writeBundle2(
  o: WriteBundle2Options,
): Promise<{ base: string; volumes: VolumeInfo[]; indexFile: string; bytes: number; index: BundleIndex }> {
  const recipients = o.encryptTo?.length ?? 0;
  // the index lies in every volume: its room is reserved from a first estimate, and the placing redone if the sealed index turns out larger
  let reserve = 64 << 10;
  for (;;) {
    const placed = placeEntries(o.entries, {
      maxVolumeBytes: volumeBytes(o.entries, o.maxVolumeBytes, reserve, recipients),
      reserve,
      recipients,
    });
    for (const e of placed.entries) if (e.parts.length > 1) await hashParts(e, o.open);
    const index: BundleIndex = {
      format: BUNDLE_FORMAT_2,
      ...o.header,
      encrypted: recipients > 0,
      volumes: placed.volumes,
      entries: placed.entries,
    };
    const sealedIndex = await sealIndex(index, o);
    if (sealedIndex.length + ZIP_PER_PART + 1024 > reserve) {
      reserve = sealedIndex.length * 2 + ZIP_PER_PART + 1024;
      continue;
    }
    return writeVolumes(index, sealedIndex, o);
  }
}

async function sealIndex(index: BundleIndex, o: Pick<WriteBundle2Options, 'signingKey' | 'encryptTo'>): Promise<Buffer> {
  const message = await openpgp.createMessage({ binary: Buffer.from(JSON.stringify(index, null, 1) + '\n'), format: 'binary' });
  const config = { preferredCompressionAlgorithm: openpgp.enums.compression.uncompressed };
  const out: unknown = o.encryptTo?.length
    ? await openpgp.encrypt({ message, encryptionKeys: o.encryptTo, signingKeys: o.signingKey, format: 'binary', config })
    : await openpgp.sign({ message, signingKeys: o.signingKey, format: 'binary', config });
  return Buffer.from(out as Uint8Array);
}

const baseName = (index: BundleIndex) => `airlock-${index.channel}-${String(index.sequence).padStart(6, '0')}`;

/** The volumes of `index` (all, or those named), each written under a temporary name, then renamed all at once. */
async function writeVolumes(
  index: BundleIndex,
  sealedIndex: Buffer,
  o: Omit<WriteBundle2Options, 'header' | 'entries'>,
  only?: number[],
): Promise<{ base: string; volumes: VolumeInfo[]; indexFile: string; bytes: number; index: BundleIndex }> {
  await fs.mkdir(o.outDir, { recursive: true });
  await removeStaleTemporaries(o.outDir);
  const base = baseName(index);
  const wanted = only ?? Array.from({ length: index.volumes }, (_, i) => i + 1);
  const byVolume = new Map<number, { e: IndexEntry; p: IndexPart; offset: number }[]>(wanted.map((v) => [v, []]));
  for (const e of index.entries) {
    let offset = 0;
    for (const p of e.parts) {
      byVolume.get(p.volume)?.push({ e, p, offset });
      offset += p.size;
    }
  }
  const tmp = (v: number) => join(o.outDir, `.${volumeName(index.channel, index.sequence, v)}.tmp-${process.pid}`);
  const written = new Map<number, VolumeInfo>();
  async function* contents(v: number): AsyncGenerator<{ name: string; body: Readable }> {
    yield { name: 'index.pgp', body: Readable.from([sealedIndex]) };
    // one session key per volume, sealed to the recipients once; each part is its own message under it, with its own random prefix
    const key = randomBytes(32);
    const head = o.encryptTo?.length
      ? Buffer.from(await openpgp.encryptSessionKey({ data: key, algorithm: 'aes256', encryptionKeys: o.encryptTo, format: 'binary' }))
      : undefined;
    for (const { e, p, offset } of byVolume.get(v) ?? []) {
      const plain = Readable.from(firstBytes(await o.open(e, offset), p.size)).pipe(checkedBytes(e.path, p.size, p.sha256, o.onProgress));
      if (!head) {
        yield { name: p.entry, body: plain };
        continue;
      }
      const sealed = runPgpThread({ op: 'cfb-seal', key, head, size: p.size }, plain);
      sealed.done.catch((err: Error) => sealed.output.destroy(err));
      yield { name: p.entry, body: sealed.output };
    }
  }
  const queue = [...wanted];
  const writer = async () => {
    for (let v = queue.shift(); v !== undefined; v = queue.shift()) {
      const info = await writeZipVolume(tmp(v), contents(v));
      if (info.size > o.maxVolumeBytes)
        throw new BundleError('BUNDLE_WRITE_FAILED', `volume ${v} came to ${info.size} bytes, more than the ${o.maxVolumeBytes} allowed`);
      written.set(v, { name: volumeName(index.channel, index.sequence, v), ...info });
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(PGP_THREADS, wanted.length) }, writer));
    const planFile = join(o.outDir, `${base}.plan.json`);
    await fs.writeFile(`${planFile}.tmp`, JSON.stringify(index) + '\n');
    await fs.writeFile(join(o.outDir, `${base}.index.pgp.tmp`), sealedIndex);
    for (const v of wanted) await fs.rename(tmp(v), join(o.outDir, volumeName(index.channel, index.sequence, v)));
    await fs.rename(`${planFile}.tmp`, planFile);
    await fs.rename(join(o.outDir, `${base}.index.pgp.tmp`), join(o.outDir, `${base}.index.pgp`));
    const d = await fs.open(o.outDir, 'r');
    await d.sync();
    await d.close();
    const volumes = wanted.map((v) => written.get(v) as VolumeInfo);
    return { base, volumes, indexFile: planFile, bytes: volumes.reduce((a, v) => a + v.size, 0), index };
  } catch (e) {
    await Promise.all([
      ...wanted.map((v) => fs.rm(tmp(v), { force: true })),
      fs.rm(join(o.outDir, `${base}.plan.json.tmp`), { force: true }),
      fs.rm(join(o.outDir, `${base}.index.pgp.tmp`), { force: true }),
    ]);
    if ((e as NodeJS.ErrnoException).code === 'ENOSPC')
      throw new BundleError('BUNDLE_WRITE_FAILED', `no space left in ${o.outDir}; nothing was written under a final name`);
    if (e instanceof BundleError) throw e;
    throw new BundleError('BUNDLE_WRITE_FAILED', `cannot write the bundle: ${(e as Error).message}`, {}, { cause: e });
  }
}

/**
 * Writes again the named volumes of a bundle written before (lost or
 * damaged media): the same index, byte for byte, and the same entries,
 * sealed anew, from the plan and sealed index kept beside the volumes.
 */
export async function rewriteVolumes(
  o: Omit<WriteBundle2Options, 'header' | 'entries'> & { channel: string; sequence: number; volumes: number[] },
): Promise<{ base: string; volumes: VolumeInfo[]; indexFile: string; bytes: number; index: BundleIndex }> {
  const base = `airlock-${o.channel}-${String(o.sequence).padStart(6, '0')}`;
  let index: BundleIndex;
  let sealedIndex: Buffer;
  try {
    index = JSON.parse(await fs.readFile(join(o.outDir, `${base}.plan.json`), 'utf8')) as BundleIndex;
    sealedIndex = await fs.readFile(join(o.outDir, `${base}.index.pgp`));
  } catch {
    throw new BundleError(
      'BUNDLE_VOLUME_MISSING',
      `${base}.plan.json and ${base}.index.pgp, kept beside the volumes when they were written, are not in ${o.outDir}: the volumes cannot be written again`,
    );
  }
  const bad = o.volumes.find((v) => !Number.isInteger(v) || v < 1 || v > index.volumes);
  if (bad !== undefined)
    throw new BundleError('BUNDLE_VOLUME_MISSING', `bundle ${base} has volumes 1 to ${index.volumes}; there is no volume ${bad}`);
  return writeVolumes(
    index,
    sealedIndex,
    o,
    [...new Set(o.volumes)].sort((a, b) => a - b),
  );
}
