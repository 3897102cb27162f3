import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { PassThrough, Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type * as openpgp from 'openpgp';
import { extract as tarExtract } from 'tar-stream';
import { BundleError } from './errors';
import { BundleManifest, ENTRY_NAME, bundleManifestSchema } from './bundle-manifest';
import { VolumeIndex } from './bundle-writer';
import { armored, runPgpThread } from './pgp-thread';

/** Limits an import holds a bundle to, whatever its manifest claims. */
export interface BundleCaps {
  maxEntries: number;
  maxTotalBytes: number;
  maxEntryBytes: number;
  maxManifestBytes: number;
}
export const DEFAULT_CAPS: BundleCaps = { maxEntries: 100_000, maxTotalBytes: 2 ** 40, maxEntryBytes: 64 * 2 ** 30, maxManifestBytes: 16 << 20 };

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
export async function checkVolumes(files: string[], o: { hash: boolean } = { hash: true }): Promise<{ index: VolumeIndex; volumes: string[] }> {
  const indexPath = files.find((f) => f.endsWith('.volumes.json')) ?? (files[0] ? join(dirname(files[0]), basename(files[0]).replace(/\.pgp(\.\d{3})?$/, '.volumes.json')) : '');
  let index: VolumeIndex;
  try {
    index = JSON.parse(await fs.readFile(indexPath, 'utf8'));
  } catch {
    throw new BundleError('BUNDLE_VOLUME_MISSING', `no readable volume index (*.volumes.json) for ${files.join(', ')}`);
  }
  if (index.format !== 'airlock-bundle-volumes/v1' || !Array.isArray(index.volumes) || !index.volumes.length) throw new BundleError('BUNDLE_INVALID', 'the volume index is not an airlock bundle index');
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
    if (st.size !== v.size) throw new BundleError('BUNDLE_VOLUME_CORRUPT', `volume ${v.name} has ${st.size} bytes, not ${v.size} (truncated or padded)`);
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
  })().catch((e) => out.destroy(e));
  return { stream: out, damaged: () => index.volumes.find((v, i) => got[i] !== undefined && got[i] !== v.sha256)?.name };
}

export interface OpenBundleOptions {
  /** A fresh folder the entries are extracted into; removed when anything fails. */
  staging: string;
  trustedSenders: openpgp.Key[];
  decryptionKeys: openpgp.PrivateKey[];
  requireEncrypted: boolean;
  caps?: BundleCaps;
}

/**
 * Reads a bundle in one pass: the volumes (hashed on the way), decrypted when
 * encrypted, into the extraction rules (only ever inside `staging`). Nothing
 * extracted is trusted until, at the end, every volume matched its index, the
 * OpenPGP integrity check passed and the signature is by a pinned sender key;
 * an extraction error is reported only once those hold (a forged bundle is a
 * sender problem first). On any failure `staging` is removed.
 */
export async function openBundle(volumes: string[], index: VolumeIndex, o: OpenBundleOptions): Promise<{ manifest: BundleManifest; senderFingerprint: string }> {
  const input = concatHashed(volumes, index);
  const extraction = bundleExtractor(o.staging, o.caps ?? DEFAULT_CAPS);
  const thread = runPgpThread({ op: 'open', decryptionKeys: armored(o.decryptionKeys), trustedSenders: armored(o.trustedSenders), requireEncrypted: o.requireEncrypted }, input.stream);
  try {
    const broken = await pipeline(thread.output, extraction.sink).then(
      () => undefined,
      (e: Error) => e,
    );
    // the thread's own verdict first: it knows whether decryption, the integrity check or the signature failed
    const { sender } = await thread.done;
    if (broken) throw broken;
    const damaged = input.damaged();
    if (damaged) throw damagedVolume(damaged);
    return { manifest: await extraction.manifest, senderFingerprint: sender as string };
  } catch (e) {
    input.stream.destroy();
    await extraction.abort();
    await fs.rm(o.staging, { recursive: true, force: true });
    // a damaged volume makes decryption fail in many ways: name the volume, as a check before decryption would
    const damaged = e instanceof BundleError && e.code === 'BUNDLE_VOLUME_CORRUPT' ? undefined : await firstDamaged(volumes, index).catch(() => undefined);
    if (damaged) throw damagedVolume(damaged);
    throw e instanceof BundleError ? e : new BundleError('BUNDLE_INVALID', `cannot read the bundle: ${(e as Error).message}`);
  }
}

/**
 * The extraction rules, as a sink for the bundle's tar: bundle.json first
 * (validated), then every entry, each checked before it is accepted: listed
 * in bundle.json, a regular file, a safe name, no duplicate or case
 * collision, its size and SHA-256. Files land only inside `staging`; anything
 * wrong rejects `manifest` with a code. The sink itself never fails: after a
 * refusal it takes the rest of the stream unread, so that the integrity check
 * and the signature at its end are still checked.
 */
export function bundleExtractor(staging: string, caps: BundleCaps = DEFAULT_CAPS): { sink: Writable; manifest: Promise<BundleManifest>; abort(): Promise<void> } {
  const ex = tarExtract();
  let manifest: BundleManifest | undefined;
  let listed = new Map<string, { size: number; sha256: string }>();
  const seen = new Set<string>();
  const seenLower = new Set<string>();
  let total = 0;
  let count = 0;
  let writing: Promise<unknown> = Promise.resolve();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (header, stream, next) => {
      stream.on('error', () => undefined); // reported through the extractor
      const fail = (code: 'BUNDLE_INVALID' | 'BUNDLE_UNSAFE_ENTRY' | 'BUNDLE_ENTRY_UNLISTED' | 'BUNDLE_DIGEST_MISMATCH' | 'BUNDLE_TOO_LARGE', msg: string) => {
        stream.resume();
        ex.destroy(new BundleError(code, msg));
      };
      const name = header.name;
      count++;
      if (count > caps.maxEntries + 1) return fail('BUNDLE_TOO_LARGE', `more than ${caps.maxEntries} entries`);
      if (header.type !== 'file') return fail('BUNDLE_UNSAFE_ENTRY', `entry ${JSON.stringify(name)} is a ${header.type}, not a regular file`);
      if (!manifest) {
        if (name !== 'bundle.json') return fail('BUNDLE_INVALID', 'the first entry must be bundle.json');
        if ((header.size ?? 0) > caps.maxManifestBytes) return fail('BUNDLE_TOO_LARGE', 'bundle.json is too large');
        const chunks: Buffer[] = [];
        stream.on('data', (c: unknown) => chunks.push(c as Buffer));
        stream.on('end', () => {
          try {
            const r = bundleManifestSchema.safeParse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
            if (!r.success) return fail('BUNDLE_INVALID', `bundle.json is invalid: ${r.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
            manifest = r.data;
            listed = new Map(manifest.entries.map((e) => [e.name, e]));
            if (listed.size !== manifest.entries.length) return fail('BUNDLE_UNSAFE_ENTRY', 'bundle.json lists an entry twice');
            const lower = new Set<string>();
            for (const n of listed.keys()) {
              if (lower.has(n.toLowerCase())) return fail('BUNDLE_UNSAFE_ENTRY', `bundle.json lists names that differ only in case (${n})`);
              lower.add(n.toLowerCase());
            }
            const declared = manifest.entries.reduce((a, e) => a + e.size, 0);
            if (declared > caps.maxTotalBytes || manifest.entries.some((e) => e.size > caps.maxEntryBytes)) return fail('BUNDLE_TOO_LARGE', 'the bundle is larger than this side accepts');
            next();
          } catch {
            fail('BUNDLE_INVALID', 'bundle.json is not JSON');
          }
        });
        return;
      }
      if (!ENTRY_NAME.test(name)) return fail('BUNDLE_UNSAFE_ENTRY', `entry name ${JSON.stringify(name.slice(0, 200))} is not allowed (absolute, .., backslash or unknown place)`);
      if (seen.has(name)) return fail('BUNDLE_UNSAFE_ENTRY', `entry ${name} appears twice`);
      if (seenLower.has(name.toLowerCase())) return fail('BUNDLE_UNSAFE_ENTRY', `entry ${name} collides with another by case`);
      seen.add(name);
      seenLower.add(name.toLowerCase());
      const want = listed.get(name);
      if (!want) return fail('BUNDLE_ENTRY_UNLISTED', `entry ${name} is not listed in bundle.json`);
      if (header.size !== want.size) return fail('BUNDLE_DIGEST_MISMATCH', `entry ${name} has ${header.size} bytes, bundle.json says ${want.size}`);
      total += want.size;
      if (total > caps.maxTotalBytes) return fail('BUNDLE_TOO_LARGE', 'the bundle is larger than this side accepts');
      const dest = join(staging, name);
      const h = createHash('sha256');
      writing = fs
        .mkdir(dirname(dest), { recursive: true })
        .then(() =>
          pipeline(
            stream,
            new Transform({
              transform(c: Buffer, _e, cb) {
                h.update(c);
                cb(null, c);
              },
            }),
            createWriteStream(dest, { flags: 'wx' }),
          ),
        )
        .then(() => {
          const got = h.digest('hex');
          if (got !== want.sha256) return fail('BUNDLE_DIGEST_MISMATCH', `entry ${name} does not match its SHA-256 in bundle.json`);
          next();
        })
        .catch((e) => ex.destroy(e instanceof BundleError ? e : new BundleError('BUNDLE_INVALID', `cannot extract ${name}: ${(e as Error).message}`)));
    });
    ex.on('finish', () => resolve());
    ex.on('error', reject);
    ex.on('close', () => resolve());
  });
  let broken = false;
  ex.on('error', () => (broken = true));
  ex.on('close', () => (broken = true));
  const sink = new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Uint8Array, _e, cb) {
      if (broken) return cb();
      if (ex.write(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))) return cb();
      const go = () => {
        ex.off('drain', go);
        ex.off('close', go);
        cb();
      };
      ex.on('drain', go);
      ex.on('close', go);
    },
    final(cb) {
      if (!broken) (ex as unknown as { end(): void }).end();
      done.then(() => cb(), () => cb());
    },
  });
  const result = done.then(
    () => {
      if (!manifest) throw new BundleError('BUNDLE_INVALID', 'the bundle holds no bundle.json');
      const missing = manifest.entries.filter((e) => !seen.has(e.name));
      if (missing.length) throw new BundleError('BUNDLE_INCOMPLETE', `the bundle lacks ${missing.length} entries listed in bundle.json (first: ${missing[0].name})`);
      return manifest;
    },
    (e) => {
      throw e instanceof BundleError ? e : new BundleError('BUNDLE_INVALID', `the bundle is not a valid archive: ${(e as Error).message}`);
    },
  );
  result.catch(() => undefined); // read only once the signature holds; a refusal before that is not unhandled
  // stops extracting and waits until no file is being written any more (then `staging` can go)
  const abort = async () => {
    ex.destroy();
    await done.catch(() => undefined);
    await writing.catch(() => undefined);
  };
  return { sink, manifest: result, abort };
}
