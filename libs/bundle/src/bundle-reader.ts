import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type * as openpgp from 'openpgp';
import { parseStrictJsonBytes } from '@airlock/common';
import { BundleError } from './errors';
import { BLOB_ENTRY, BundleEntry, BundleManifest, ENTRY_NAME, bundleManifestSchema } from './bundle-manifest';
import { readTar } from './tar-reader';
import { VolumeIndex } from './bundle-writer';
import { armored, runPgpThread } from './pgp-thread';

/** Limits an import holds a bundle to, whatever its manifest claims. */
export interface BundleCaps {
  maxEntries: number;
  maxTotalBytes: number;
  maxEntryBytes: number;
  maxManifestBytes: number;
}
export const DEFAULT_CAPS: BundleCaps = {
  maxEntries: 100_000,
  maxTotalBytes: 2 ** 40,
  maxEntryBytes: 64 * 2 ** 30,
  maxManifestBytes: 16 << 20,
};

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}

/**
 * Finds the volume index among the given files (or beside the first volume)
 * and checks that every volume is present and of its size; with `hash`, also
 * that every volume is intact (the single-pass read checks that on the way).
 */
export async function checkVolumes(
  files: string[],
  o: { hash: boolean } = { hash: true },
): Promise<{ index: VolumeIndex; volumes: string[] }> {
  const indexPath =
    files.find((f) => f.endsWith('.volumes.json')) ??
    (files[0] ? join(dirname(files[0]), basename(files[0]).replace(/\.pgp(\.\d{3})?$/, '.volumes.json')) : '');
  let index: VolumeIndex;
  try {
    index = JSON.parse(await fs.readFile(indexPath, 'utf8')) as VolumeIndex;
  } catch {
    throw new BundleError('BUNDLE_VOLUME_MISSING', `no readable volume index (*.volumes.json) for ${files.join(', ')}`);
  }
  if (index.format !== 'airlock-bundle-volumes/v1' || !Array.isArray(index.volumes) || !index.volumes.length)
    throw new BundleError('BUNDLE_INVALID', 'the volume index is not an airlock bundle index');
  const byName = new Map(files.map((f) => [basename(f), f]));
  const volumes: string[] = [];
  for (const v of index.volumes) {
    if (!/^[A-Za-z0-9._-]+$/.test(v.name)) throw new BundleError('BUNDLE_INVALID', `volume name ${JSON.stringify(v.name)} is not allowed`);
    const path = byName.get(v.name) ?? join(dirname(indexPath), v.name);
    let st;
    try {
      st = await fs.stat(path);
    } catch {
      throw new BundleError('BUNDLE_VOLUME_MISSING', `volume ${v.name} is missing`);
    }
    if (st.size !== v.size)
      throw new BundleError('BUNDLE_VOLUME_CORRUPT', `volume ${v.name} has ${st.size} bytes, not ${v.size} (truncated or padded)`);
    volumes.push(path);
  }
  const damaged = o.hash ? await firstDamaged(volumes, index) : undefined;
  if (damaged) throw damagedVolume(damaged);
  return { index, volumes };
}

const damagedVolume = (name: string) => new BundleError('BUNDLE_VOLUME_CORRUPT', `volume ${name} is damaged (its SHA-256 differs)`);

/** The name of the first volume whose SHA-256 differs from the index. */
async function firstDamaged(paths: string[], index: VolumeIndex): Promise<string | undefined> {
  for (const [i, p] of paths.entries()) if ((await sha256File(p)) !== index.volumes[i].sha256) return index.volumes[i].name;
  return undefined;
}

/** The volumes one after another, each hashed on the way; `damaged()` names the first whose SHA-256 differs from the index. */
function concatHashed(paths: string[], index: VolumeIndex): { stream: Readable; damaged(): string | undefined } {
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  const got: string[] = [];
  (async () => {
    for (const p of paths) {
      const h = createHash('sha256');
      const hashing = new Transform({
        transform(c: Buffer, _e, cb) {
          h.update(c);
          cb(null, c);
        },
      });
      await pipeline(createReadStream(p, { highWaterMark: 1 << 20 }), hashing, out, { end: false });
      got.push(h.digest('hex'));
    }
    out.end();
  })().catch((e: Error) => out.destroy(e));
  return { stream: out, damaged: () => index.volumes.find((v, i) => got[i] !== undefined && got[i] !== v.sha256)?.name };
}

export interface OpenBundleOptions {
  /** A fresh folder the entries are extracted into; removed when anything fails. */
  staging: string;
  trustedSenders: openpgp.Key[];
  decryptionKeys: openpgp.PrivateKey[];
  requireEncrypted: boolean;
  caps?: BundleCaps;
  /** The read fails with BUNDLE_IMPORT_TIMEOUT when no byte moves for this long (default 120 s). */
  stallMs?: number;
  /** Bytes of the decrypted stream read so far, every 16 MiB, against the volumes' size. */
  onProgress?(bytes: number, total: number): void;
}

/**
 * Reads a bundle in one pass: the volumes (hashed on the way), decrypted when
 * encrypted, into the extraction rules (only ever inside `staging`). The
 * OpenPGP thread passes nothing on unless the message is one literal packet
 * under one signature by a pinned sender key (compressed data is refused
 * unread), and the decrypted stream cannot be larger than the volumes.
 * Nothing extracted is trusted until, at the end, every volume matched its
 * index, the OpenPGP integrity check passed and the signature verified; an
 * extraction error is reported only once those hold (a forged bundle is a
 * sender problem first). Every path ends in the manifest or a coded refusal,
 * within `stallMs` of the last byte that moved; on any failure `staging` is
 * removed.
 */
export async function openBundle(
  volumes: string[],
  index: VolumeIndex,
  o: OpenBundleOptions,
): Promise<{ manifest: BundleManifest; senderFingerprint: string }> {
  const input = concatHashed(volumes, index);
  const thread = runPgpThread(
    {
      op: 'open',
      decryptionKeys: armored(o.decryptionKeys),
      trustedSenders: armored(o.trustedSenders),
      requireEncrypted: o.requireEncrypted,
    },
    input.stream,
  );
  const volumeBytes = index.volumes.reduce((a, v) => a + v.size, 0);
  let moved = Date.now();
  let stalled: BundleError | undefined;
  const stallMs = o.stallMs ?? 120_000;
  const watchdog = setInterval(
    () => {
      if (Date.now() - moved < stallMs) return;
      stalled = new BundleError('BUNDLE_IMPORT_TIMEOUT', `reading the bundle stopped: no byte moved for ${Math.round(stallMs / 1000)} s`);
      input.stream.destroy();
      thread.output.destroy(stalled);
    },
    Math.min(1000, stallMs),
  );
  input.stream.on('data', () => (moved = Date.now()));
  let reported = 0;
  async function* capped(src: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    let n = 0;
    for await (const c of src) {
      n += c.byteLength;
      moved = Date.now();
      if (n - reported >= 16 << 20) {
        reported = n;
        o.onProgress?.(n, volumeBytes);
      }
      // with compression refused, the data inside a message is never larger than the message
      if (n > volumeBytes) throw new BundleError('BUNDLE_TOO_LARGE', 'the bundle decrypts to more bytes than its volumes hold');
      yield c;
    }
  }
  try {
    let refused: unknown;
    let manifest: BundleManifest | undefined;
    try {
      manifest = await extractBundle(capped(thread.output.iterator({ destroyOnReturn: false })), o.staging, o.caps ?? DEFAULT_CAPS);
    } catch (e) {
      refused = e;
      // the rest is read unwritten, so that the integrity check and the signature at its end are still checked
      try {
        for await (const _ of capped(thread.output)) moved = Date.now();
      } catch {
        /* the thread's verdict says why */
      }
    }
    // the thread's own verdict first: it knows whether decryption, the integrity check or the signature failed
    const { sender } = await thread.done;
    if (refused) throw refused as Error;
    const damaged = input.damaged();
    if (damaged) throw damagedVolume(damaged);
    return { manifest: manifest as BundleManifest, senderFingerprint: sender as string };
  } catch (e) {
    input.stream.destroy();
    thread.output.destroy();
    await fs.rm(o.staging, { recursive: true, force: true });
    if (stalled) throw stalled;
    // a damaged volume makes decryption fail in many ways: name the volume, as a check before decryption would
    const damaged =
      e instanceof BundleError && e.code === 'BUNDLE_VOLUME_CORRUPT'
        ? undefined
        : await firstDamaged(volumes, index).catch(() => undefined);
    if (damaged) throw damagedVolume(damaged);
    throw e instanceof BundleError ? e : new BundleError('BUNDLE_INVALID', `cannot read the bundle: ${(e as Error).message}`);
  } finally {
    clearInterval(watchdog);
  }
}

/** bundle.json, read as strictly as a signature payload: valid UTF-8, no duplicate key, nothing after the value, the schema. */
function parseBundleManifest(bytes: Buffer): BundleManifest {
  let doc: unknown;
  try {
    doc = parseStrictJsonBytes(bytes, 8);
  } catch (e) {
    throw new BundleError('BUNDLE_INVALID', `bundle.json is not strict JSON: ${(e as Error).message}`);
  }
  const r = bundleManifestSchema.safeParse(doc);
  if (!r.success)
    throw new BundleError(
      'BUNDLE_INVALID',
      `bundle.json is invalid: ${r.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.join('.')}: ${i.message}`)
        .join('; ')}`,
    );
  return r.data;
}

/** The entries bundle.json lists, by name, after the rules that hold before any entry is read. */
function listedEntries(manifest: BundleManifest, caps: BundleCaps): Map<string, BundleEntry> {
  const listed = new Map(manifest.entries.map((e) => [e.name, e]));
  if (listed.size !== manifest.entries.length) throw new BundleError('BUNDLE_UNSAFE_ENTRY', 'bundle.json lists an entry twice');
  const lower = new Set<string>();
  for (const e of listed.values()) {
    if (lower.has(e.name.toLowerCase()))
      throw new BundleError('BUNDLE_UNSAFE_ENTRY', `bundle.json lists names that differ only in case (${e.name})`);
    lower.add(e.name.toLowerCase());
    const blob = BLOB_ENTRY.exec(e.name);
    if (blob && blob[1] !== e.sha256)
      throw new BundleError(
        'BUNDLE_DIGEST_MISMATCH',
        `bundle.json says blob ${e.name} has SHA-256 ${e.sha256}: a blob's name is its digest`,
      );
  }
  if (manifest.entries.length > caps.maxEntries) throw new BundleError('BUNDLE_TOO_LARGE', `more than ${caps.maxEntries} entries`);
  const declared = manifest.entries.reduce((a, e) => a + e.size, 0);
  if (declared > caps.maxTotalBytes || manifest.entries.some((e) => e.size > caps.maxEntryBytes))
    throw new BundleError('BUNDLE_TOO_LARGE', 'the bundle is larger than this side accepts');
  return listed;
}

async function readAll(body: AsyncIterable<Buffer>, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of body) {
    n += c.length;
    if (n > max) throw new BundleError('BUNDLE_TOO_LARGE', 'bundle.json is too large');
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

/**
 * The extraction rules over the bundle's tar (read strictly, see
 * tar-reader.ts): bundle.json first (validated), then every entry, each
 * checked before it is accepted: listed in bundle.json, a safe name, no
 * duplicate or case collision, its size and SHA-256 (the last entry's too:
 * the archive must end properly before the result is known). Files land
 * only inside `staging`; anything wrong rejects with a code.
 */
export async function extractBundle(
  tar: AsyncIterable<Uint8Array>,
  staging: string,
  caps: BundleCaps = DEFAULT_CAPS,
): Promise<BundleManifest> {
  let manifest: BundleManifest | undefined;
  let listed = new Map<string, BundleEntry>();
  const seen = new Set<string>();
  const seenLower = new Set<string>();
  let count = 0;
  for await (const entry of readTar(tar)) {
    const name = entry.name;
    if (++count > caps.maxEntries + 1) throw new BundleError('BUNDLE_TOO_LARGE', `more than ${caps.maxEntries} entries`);
    if (!manifest) {
      if (name !== 'bundle.json') throw new BundleError('BUNDLE_INVALID', 'the first entry must be bundle.json');
      if (entry.size > caps.maxManifestBytes) throw new BundleError('BUNDLE_TOO_LARGE', 'bundle.json is too large');
      manifest = parseBundleManifest(await readAll(entry.body, caps.maxManifestBytes));
      listed = listedEntries(manifest, caps);
      continue;
    }
    if (!ENTRY_NAME.test(name))
      throw new BundleError(
        'BUNDLE_UNSAFE_ENTRY',
        `entry name ${JSON.stringify(name.slice(0, 200))} is not allowed (absolute, .., backslash or unknown place)`,
      );
    if (seen.has(name)) throw new BundleError('BUNDLE_UNSAFE_ENTRY', `entry ${name} appears twice`);
    if (seenLower.has(name.toLowerCase())) throw new BundleError('BUNDLE_UNSAFE_ENTRY', `entry ${name} collides with another by case`);
    seen.add(name);
    seenLower.add(name.toLowerCase());
    const want = listed.get(name);
    if (!want) throw new BundleError('BUNDLE_ENTRY_UNLISTED', `entry ${name} is not listed in bundle.json`);
    if (entry.size !== want.size)
      throw new BundleError('BUNDLE_DIGEST_MISMATCH', `entry ${name} has ${entry.size} bytes, bundle.json says ${want.size}`);
    const dest = join(staging, name);
    const h = createHash('sha256');
    await fs.mkdir(dirname(dest), { recursive: true });
    try {
      await pipeline(
        Readable.from(entry.body),
        new Transform({
          transform(c: Buffer, _e, cb) {
            h.update(c);
            cb(null, c);
          },
        }),
        createWriteStream(dest, { flags: 'wx' }),
      );
    } catch (e) {
      throw e instanceof BundleError ? e : new BundleError('BUNDLE_INVALID', `cannot extract ${name}: ${(e as Error).message}`);
    }
    if (h.digest('hex') !== want.sha256)
      throw new BundleError('BUNDLE_DIGEST_MISMATCH', `entry ${name} does not match its SHA-256 in bundle.json`);
  }
  if (!manifest) throw new BundleError('BUNDLE_INVALID', 'the bundle holds no bundle.json');
  const missing = manifest.entries.filter((e) => !seen.has(e.name));
  if (missing.length)
    throw new BundleError(
      'BUNDLE_INCOMPLETE',
      `the bundle lacks ${missing.length} entries listed in bundle.json (first: ${missing[0].name})`,
    );
  return manifest;
}
