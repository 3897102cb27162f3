import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as openpgp from 'openpgp';
import { extract as tarExtract } from 'tar-stream';
import { BundleError } from './errors';
import { BundleManifest, ENTRY_NAME, bundleManifestSchema } from './bundle-manifest';
import { VolumeIndex } from './bundle-writer';

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
 * and checks that every volume is present, of its size, and intact.
 */
export async function checkVolumes(files: string[]): Promise<{ index: VolumeIndex; volumes: string[] }> {
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
    if ((await sha256File(path)) !== v.sha256) throw new BundleError('BUNDLE_VOLUME_CORRUPT', `volume ${v.name} is damaged (its SHA-256 differs)`);
    volumes.push(path);
  }
  return { index, volumes };
}

function concat(paths: string[]): Readable {
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  (async () => {
    for (const p of paths) await pipeline(createReadStream(p, { highWaterMark: 1 << 20 }), out, { end: false });
    out.end();
  })().catch((e) => out.destroy(e));
  return out;
}

/**
 * Decrypts (when encrypted) and verifies the bundle into `tarPath`, streaming:
 * nothing in the output is trusted until the signature by a pinned sender
 * key and the integrity check at the end have passed; on any failure the
 * output is removed.
 */
export async function openBundle(volumes: string[], o: { tarPath: string; trustedSenders: openpgp.Key[]; decryptionKeys: openpgp.PrivateKey[]; requireEncrypted: boolean }): Promise<{ senderFingerprint: string }> {
  const input = Readable.toWeb(concat(volumes)) as never;
  let message: openpgp.Message<ReadableStream<Uint8Array>>;
  try {
    message = (await openpgp.readMessage({ binaryMessage: input })) as never;
  } catch (e) {
    throw new BundleError('BUNDLE_INVALID', `not an OpenPGP message: ${(e as Error).message}`);
  }
  const encrypted = message.packets.some((p) => [openpgp.enums.packet.publicKeyEncryptedSessionKey, openpgp.enums.packet.symEncryptedIntegrityProtectedData, openpgp.enums.packet.aeadEncryptedData].includes((p.constructor as unknown as { tag: number }).tag));
  if (o.requireEncrypted && !encrypted) throw new BundleError('BUNDLE_INVALID', 'this channel requires encrypted bundles; this one is not');
  let result: { data: unknown; signatures: { keyID: openpgp.KeyID; verified: Promise<true> }[] };
  try {
    result = encrypted
      ? ((await openpgp.decrypt({ message: message as never, decryptionKeys: o.decryptionKeys, verificationKeys: o.trustedSenders, expectSigned: false, format: 'binary', config: { allowUnauthenticatedStream: true } })) as never)
      : ((await openpgp.verify({ message: message as never, verificationKeys: o.trustedSenders, expectSigned: false, format: 'binary' })) as never);
  } catch (e) {
    const msg = (e as Error).message;
    if (/decrypt|session key|private key/i.test(msg)) throw new BundleError('BUNDLE_DECRYPT_FAILED', `cannot decrypt the bundle with this side's import key: ${msg}`);
    throw new BundleError('BUNDLE_INVALID', `cannot read the bundle: ${msg}`);
  }
  try {
    await pipeline(Readable.fromWeb(result.data as never), createWriteStream(o.tarPath));
  } catch (e) {
    await fs.rm(o.tarPath, { force: true });
    throw new BundleError('BUNDLE_CORRUPT', `the bundle failed its integrity check: ${(e as Error).message}`);
  }
  const sigs = result.signatures;
  if (sigs.length !== 1) {
    await fs.rm(o.tarPath, { force: true });
    throw new BundleError('BUNDLE_UNTRUSTED_SENDER', `the bundle carries ${sigs.length} signatures; exactly one sender signature is required`);
  }
  try {
    await sigs[0].verified;
  } catch (e) {
    await fs.rm(o.tarPath, { force: true });
    const msg = (e as Error).message;
    if (/could not find signing key/i.test(msg)) throw new BundleError('BUNDLE_UNTRUSTED_SENDER', `the bundle is signed by key ${sigs[0].keyID.toHex().toUpperCase()}, which is not a pinned sender key for this channel`);
    throw new BundleError('BUNDLE_CORRUPT', `the bundle signature does not verify: ${msg}`);
  }
  const key = o.trustedSenders.find((k) => k.getKeys(sigs[0].keyID).length > 0) as openpgp.Key;
  return { senderFingerprint: key.getFingerprint().toUpperCase() };
}

/**
 * Reads the verified tar: bundle.json first (validated), then every entry,
 * each checked before it is accepted: listed in bundle.json, a regular file,
 * a safe name, no duplicate or case collision, its size and SHA-256. Files
 * land only inside `staging`; anything wrong aborts with a code.
 */
export async function extractBundle(tarPath: string, staging: string, caps: BundleCaps = DEFAULT_CAPS): Promise<BundleManifest> {
  const ex = tarExtract();
  let manifest: BundleManifest | undefined;
  let listed = new Map<string, { size: number; sha256: string }>();
  const seen = new Set<string>();
  const seenLower = new Set<string>();
  let total = 0;
  let count = 0;
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
      fs.mkdir(dirname(dest), { recursive: true })
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
  try {
    await Promise.all([pipeline(createReadStream(tarPath), ex), done]);
  } catch (e) {
    if (e instanceof BundleError) throw e;
    throw new BundleError('BUNDLE_INVALID', `the bundle is not a valid archive: ${(e as Error).message}`);
  }
  if (!manifest) throw new BundleError('BUNDLE_INVALID', 'the bundle holds no bundle.json');
  const missing = manifest.entries.filter((e) => !seen.has(e.name));
  if (missing.length) throw new BundleError('BUNDLE_INCOMPLETE', `the bundle lacks ${missing.length} entries listed in bundle.json (first: ${missing[0].name})`);
  return manifest;
}
