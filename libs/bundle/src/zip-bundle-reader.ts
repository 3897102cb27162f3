import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import * as openpgp from 'openpgp';
import { BundleError } from './errors';
import { BundleCaps, DEFAULT_CAPS } from './bundle-reader';
import { BundleIndex, IndexEntry, parseBundleIndex, volumeName } from './bundle-index';
import { armored, runPgpThread } from './pgp-thread';
import { checkedBytes } from './checked-bytes';
import { ZipEntry, ZipVolume, openZipVolume, readEntry, readEntryBytes } from './zip-volume';
import { seipdDataAt, sessionKeyPacketsEnd } from './seipd';

/** A format-2 bundle as far as its volumes present tell: the index verified, each volume's entries checked against it. */
export interface OpenedBundle2 {
  /** The import keys, and the session keys they opened (by the bytes of the packets that carry them). */
  privateKeys: openpgp.PrivateKey[];
  sessionKeys: Map<string, Promise<Buffer>>;
  index: BundleIndex;
  sender: string;
  /** The volumes present, by number. */
  volumes: Map<number, ZipVolume>;
  /** The numbers of the volumes not given. */
  missing: number[];
  decryptionKeys: string[];
}

/** Is this file a volume of a format-2 bundle (by its name)? */
export const isZipVolume = (file: string) => file.endsWith('.zip');

export interface OpenBundle2Options {
  trustedSenders: openpgp.Key[];
  decryptionKeys: openpgp.PrivateKey[];
  requireEncrypted: boolean;
  caps?: BundleCaps;
  /** The volumes as readVolumes or sortVolumes read them already (the files are then not opened again). */
  read?: ReadVolumes;
}

/** Volumes opened, and the one index they carry. */
export interface ReadVolumes {
  zips: ZipVolume[];
  indexBytes: Buffer;
}

/** A volume opened: its central directory checked (zip-volume.ts) and its index read; or why it could not be. */
type OpenedVolume = { zip: ZipVolume; indexBytes: Buffer } | { error: unknown };

/** Volumes opened at once: each is a few small reads, mostly waiting on the disk (65 volumes one by one took about 1 s). */
const OPEN_AT_ONCE = 8;

/** Opens every volume, a few at a time, each result in the place of its file. */
async function openVolumes(files: string[], caps: BundleCaps): Promise<OpenedVolume[]> {
  const out: OpenedVolume[] = new Array<OpenedVolume>(files.length);
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < files.length; i = next++) {
      try {
        const zip = await openZipVolume(files[i], { maxEntries: caps.maxEntries + 1 });
        const entry = zip.entries.get('index.pgp');
        if (!entry) throw new BundleError('BUNDLE_INVALID', `${basename(files[i])} holds no index.pgp: not a volume of a format-2 bundle`);
        out[i] = { zip, indexBytes: await readEntryBytes(zip, entry, caps.maxManifestBytes) };
      } catch (error) {
        out[i] = { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(OPEN_AT_ONCE, files.length) }, lane));
  return out;
}

/** The central directories of the given volumes, each checked (zip-volume.ts), and their one index: every volume's must be the same bytes. */
export async function readVolumes(files: string[], caps: BundleCaps = DEFAULT_CAPS): Promise<ReadVolumes> {
  const zips: ZipVolume[] = [];
  let indexBytes: Buffer | undefined;
  // the refusal reported is that of the first file given that has one, as when they were opened one by one
  for (const [i, v] of (await openVolumes(files, caps)).entries()) {
    if ('error' in v) throw v.error;
    if (indexBytes && !indexBytes.equals(v.indexBytes))
      throw new BundleError(
        'BUNDLE_INVALID',
        `${basename(files[i])} carries another index than ${basename(files[0])}: volumes of different bundles (or sequences) were given together`,
      );
    indexBytes = v.indexBytes;
    zips.push(v.zip);
  }
  if (!indexBytes) throw new BundleError('BUNDLE_VOLUME_MISSING', 'no volume given');
  return { zips, indexBytes };
}

/**
 * The volumes among `files` that carry the same index as the first one, and
 * those that carry another (a volume of another bundle or sequence, or one
 * that cannot be read as a volume): what `bundle inspect` reports before it
 * looks at the bundle the first volume belongs to.
 */
export async function sortVolumes(
  files: string[],
  caps: BundleCaps = DEFAULT_CAPS,
): Promise<{ same: string[]; other: string[]; read?: ReadVolumes }> {
  const same: string[] = [];
  const other: string[] = [];
  const zips: ZipVolume[] = [];
  let first: Buffer | undefined;
  for (const [i, v] of (await openVolumes(files, caps)).entries()) {
    const bytes = 'error' in v ? undefined : v.indexBytes;
    first ??= bytes;
    if (bytes && first && bytes.equals(first) && !('error' in v)) {
      same.push(files[i]);
      zips.push(v.zip);
    } else other.push(files[i]);
  }
  // what openBundle2 would read again of the same volumes, for it to take as read
  return { same, other, ...(first ? { read: { zips, indexBytes: first } } : {}) };
}

/**
 * Opens a format-2 bundle from the volumes present: the index first (the
 * sender's signature against the pinned keys, encrypted when the channel
 * requires it, read strictly), before anything else of the volumes is read;
 * then every volume's name and entries against the index: each present
 * volume is one the index names, once; it holds exactly the parts the index
 * puts in it (an unlisted entry is BUNDLE_ENTRY_UNLISTED, a missing one
 * BUNDLE_VOLUME_CORRUPT). Missing volumes are reported, not refused: the
 * import takes what is complete.
 */
export async function openBundle2(files: string[], o: OpenBundle2Options): Promise<OpenedBundle2> {
  const caps = o.caps ?? DEFAULT_CAPS;
  const { zips, indexBytes } = o.read ?? (await readVolumes(files, caps));
  const thread = runPgpThread(
    {
      op: 'open',
      decryptionKeys: armored(o.decryptionKeys),
      trustedSenders: armored(o.trustedSenders),
      requireEncrypted: o.requireEncrypted,
    },
    Readable.from([indexBytes]),
  );
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of thread.output) {
      n += (c as Buffer).length;
      if (n > indexBytes.length) throw new BundleError('BUNDLE_TOO_LARGE', 'the index decrypts to more bytes than it holds');
      chunks.push(c as Buffer);
    }
  } catch (e) {
    // the thread's verdict first: it knows whether decryption or the signature failed
    throw (
      (await thread.done.then(
        () => undefined,
        (v: unknown) => v,
      )) ?? e
    );
  }
  const { sender } = await thread.done;
  const index = parseBundleIndex(Buffer.concat(chunks), caps);
  if (o.requireEncrypted && !index.encrypted)
    throw new BundleError('BUNDLE_INVALID', 'this channel requires encrypted bundles; the entries of this one are not');
  const volumes = new Map<number, ZipVolume>();
  for (const z of zips) {
    const name = basename(z.path);
    const n = Array.from({ length: index.volumes }, (_, i) => i + 1).find((v) => volumeName(index.channel, index.sequence, v) === name);
    if (n === undefined)
      throw new BundleError(
        'BUNDLE_INVALID',
        `${name} is not a volume name of bundle ${index.channel} ${index.sequence} (volumes 1 to ${index.volumes}); renamed, or of another bundle`,
      );
    if (volumes.has(n)) throw new BundleError('BUNDLE_INVALID', `volume ${n} was given twice`);
    volumes.set(n, z);
  }
  const want = new Map<number, Set<string>>();
  for (const e of index.entries) for (const p of e.parts) (want.get(p.volume) ?? want.set(p.volume, new Set()).get(p.volume))!.add(p.entry);
  for (const [n, z] of volumes) {
    const listed = want.get(n) ?? new Set();
    for (const name of z.entries.keys())
      if (name !== 'index.pgp' && !listed.has(name))
        throw new BundleError('BUNDLE_ENTRY_UNLISTED', `${basename(z.path)} holds entry ${name}, which the index does not list there`);
    for (const name of listed)
      if (!z.entries.has(name))
        throw new BundleError('BUNDLE_VOLUME_CORRUPT', `${basename(z.path)} lacks entry ${name}, which the index puts there`);
  }
  const missing = Array.from({ length: index.volumes }, (_, i) => i + 1).filter((v) => !volumes.has(v));
  return {
    index,
    sender: sender as string,
    volumes,
    missing,
    decryptionKeys: armored(o.decryptionKeys),
    privateKeys: o.decryptionKeys,
    sessionKeys: new Map(),
  };
}

/** The volumes an entry's parts lie in that were not given (none when it can be read). */
export const missingFor = (b: OpenedBundle2, e: IndexEntry): number[] => [
  ...new Set(e.parts.map((p) => p.volume).filter((v) => !b.volumes.has(v))),
];

/**
 * The plain bytes of one entry: its parts in order, each read from its
 * volume, opened on the thread pool when sealed, and checked against its
 * size and SHA-256 in the index (the whole entry too, when it has several
 * parts); a part in a volume not given is BUNDLE_INCOMPLETE. The stream
 * fails with the code of the first check that does not hold, before its
 * last byte is passed on. A consumer that checks an entry of one part
 * against its digest itself (the copy engine does, holding back the last
 * chunk) may say so, and the part is then held to its size only.
 */
export function openEntry(b: OpenedBundle2, e: IndexEntry, o: { digestCheckedByConsumer?: boolean } = {}): Readable {
  const missing = missingFor(b, e);
  if (missing.length) {
    const r = new Readable({ read: () => undefined });
    r.destroy(new BundleError('BUNDLE_INCOMPLETE', `${e.path} lies in volume ${missing.join(', ')}, which was not given`));
    return r;
  }
  async function* parts(): AsyncGenerator<Buffer> {
    const whole = createHash('sha256');
    for (const p of e.parts) {
      const z = b.volumes.get(p.volume) as ZipVolume;
      const zipEntry = z.entries.get(p.entry)!;
      let stored: Readable;
      let plain: Readable;
      let done: Promise<unknown> = Promise.resolve();
      if (b.index.encrypted) {
        // the session key packets in this thread (openpgp, the import key; once per volume), the bulk on the thread pool (native-cfb.ts)
        const { key, skip, first } = await sessionKeyOf(b, z, zipEntry);
        stored = Readable.from(alignedStored(z, zipEntry, first, skip), { objectMode: false, highWaterMark: 1 << 20 });
        const t = runPgpThread({ op: 'cfb-open', key, skip }, stored);
        plain = t.output;
        done = t.done;
      } else plain = stored = readEntry(z, zipEntry);
      const checked = plain.pipe(
        checkedBytes(
          `${e.path} (${p.entry} in volume ${p.volume})`,
          p.size,
          o.digestCheckedByConsumer && e.parts.length === 1 ? undefined : p.sha256,
        ),
      );
      plain.on('error', (err) => checked.destroy(err));
      try {
        for await (const c of checked) {
          if (e.parts.length > 1) whole.update(c as Buffer);
          yield c as Buffer;
        }
        await done;
      } catch (err) {
        await done.catch(() => undefined);
        throw err;
      } finally {
        stored.destroy();
        plain.destroy();
      }
    }
    if (e.parts.length > 1 && whole.digest('hex') !== e.sha256)
      throw new BundleError('BUNDLE_DIGEST_MISMATCH', `the parts of ${e.path} together do not match its SHA-256 in the index`);
  }
  return Readable.from(parts(), { objectMode: false, highWaterMark: 1 << 20 });
}

/**
 * A sealed part's bytes for the thread that opens it: the packet headers
 * (already read, in `first`) as one piece, then the encrypted data in
 * pieces of 1 MiB from where it starts, each in a buffer of its own. The
 * thread then decrypts whole cipher blocks where they lie and the pieces
 * move between the threads without a copy. A part whose headers are not
 * what airlock writes is passed on the same way and refused by the opener.
 */
async function* alignedStored(z: ZipVolume, e: ZipEntry, first: Buffer, skip: number): AsyncGenerator<Buffer> {
  const dataAt = seipdDataAt(first, skip);
  if (dataAt) yield Buffer.from(first.subarray(0, dataAt));
  yield* readEntry(z, e, { start: dataAt }) as AsyncIterable<Buffer>;
}

/** The session key of a sealed part, from the packets before its SEIPD packet (the same bytes for every part of a volume: opened once), and the part's first bytes as read. */
async function sessionKeyOf(b: OpenedBundle2, z: ZipVolume, e: ZipEntry): Promise<{ key: Buffer; skip: number; first: Buffer }> {
  const first = await readEntryBytes(z, { ...e, size: Math.min(e.size, 16 << 10) }, 16 << 10);
  const skip = sessionKeyPacketsEnd(first);
  if (skip === undefined)
    throw new BundleError('BUNDLE_INVALID', `entry ${e.name} of ${basename(z.path)} is too short to hold its session key packets`);
  const packets = first.subarray(0, skip);
  const id = packets.toString('base64');
  let key = b.sessionKeys.get(id);
  if (!key) {
    key = (async () => {
      let found: { data: Uint8Array; algorithm: string }[];
      try {
        found = (await openpgp.decryptSessionKeys({
          message: await openpgp.readMessage({ binaryMessage: packets }),
          decryptionKeys: b.privateKeys,
        })) as never;
      } catch (err) {
        throw new BundleError(
          'BUNDLE_DECRYPT_FAILED',
          `cannot open entry ${e.name} of ${basename(z.path)} with this side's import key: ${(err as Error).message}`,
        );
      }
      if (found.length !== 1 || found[0].algorithm !== 'aes256' || found[0].data.length !== 32)
        throw new BundleError('BUNDLE_INVALID', `entry ${e.name} of ${basename(z.path)} is not sealed with AES-256, which airlock writes`);
      return Buffer.from(found[0].data);
    })();
    key.catch(() => undefined);
    b.sessionKeys.set(id, key);
  }
  return { key: await key, skip, first };
}

/** An entry's plain bytes in memory (the small ones: manifests, signatures, the layout's files). */
export async function readWholeEntry(b: OpenedBundle2, e: IndexEntry, max: number): Promise<Buffer> {
  if (e.size > max) throw new BundleError('BUNDLE_TOO_LARGE', `${e.path} has ${e.size} bytes, more than ${max}`);
  const chunks: Buffer[] = [];
  for await (const c of openEntry(b, e)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
