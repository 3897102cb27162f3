import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type * as openpgp from 'openpgp';
import { pack as tarPack } from 'tar-stream';
import { processAlive } from '@airlock/common';
import { BundleError } from './errors';
import { checkedBytes } from './checked-bytes';
import { BundleEntry, BundleManifest } from './bundle-manifest';
import { VolumeInfo, VolumeWriter } from './volume-writer';
import { armored, runPgpThread } from './pgp-thread';

/** The volume index written beside the volumes (for completeness checks before decryption). */
export interface VolumeIndex {
  format: 'airlock-bundle-volumes/v1';
  id: string;
  channel: string;
  sequence: number;
  encrypted: boolean;
  volumes: VolumeInfo[];
}

export interface WriteBundleOptions {
  manifest: BundleManifest;
  /** Opens an entry's content; its bytes are checked against the manifest while they stream. */
  open(entry: BundleEntry): Promise<Readable>;
  signingKey: openpgp.PrivateKey;
  /** Encrypt to these keys (SEIPD v1, readable by gpg 2.2); plain signed message when absent. */
  encryptTo?: openpgp.Key[];
  outDir: string;
  maxVolumeBytes: number;
  onProgress?(bytes: number): void;
}

const MTIME = new Date('2000-01-01T00:00:00Z');

/** Temporary volumes of writers that died (kill -9, power cut) are removed before a new bundle is written. */
export async function removeStaleTemporaries(dir: string): Promise<void> {
  for (const f of await fs.readdir(dir)) {
    const m = /\.tmp-(\d+)$/.exec(f);
    if (!m || Number(m[1]) === process.pid) continue;
    if (!processAlive(Number(m[1]))) await fs.rm(join(dir, f), { force: true });
  }
}

/**
 * Writes a bundle: a tar stream (bundle.json first, then every entry) signed
 * by the sender and, when recipients are given, encrypted to them, split into
 * volumes. Everything streams; volumes appear under their final names only
 * when all of them are written and synced.
 */
export async function writeBundle(
  o: WriteBundleOptions,
): Promise<{ base: string; volumes: VolumeInfo[]; indexFile: string; bytes: number }> {
  const m = o.manifest;
  const base = `airlock-${m.channel}-${String(m.sequence).padStart(6, '0')}.pgp`;
  await fs.mkdir(o.outDir, { recursive: true });
  await removeStaleTemporaries(o.outDir);
  const volumes = new VolumeWriter(o.outDir, base, o.maxVolumeBytes);
  const tar = tarPack();
  const feed = (async () => {
    const json = Buffer.from(JSON.stringify(m, null, 2) + '\n');
    await new Promise<void>((res, rej) =>
      tar.entry({ name: 'bundle.json', size: json.length, mode: 0o644, mtime: MTIME }, json, (e) => (e ? rej(e) : res())),
    );
    for (const e of m.entries) {
      const src = await o.open(e);
      await new Promise<void>((res, rej) => {
        const sink = tar.entry({ name: e.name, size: e.size, mode: 0o644, mtime: MTIME }, (err) => (err ? rej(err) : res()));
        sink.on('error', () => undefined); // reported through pipeline()
        pipeline(src, checkedBytes(e.name, e.size, e.sha256, o.onProgress), sink).catch(rej);
      });
    }
    tar.finalize();
  })();
  tar.on('error', () => undefined); // reported through `feed`
  // stop the stream chain without re-emitting: the error itself travels through `feed`
  feed.catch(() => {
    tar.destroy();
    volumes.destroy();
  });
  try {
    // signing and encryption run on their own thread, beside the registry reads, the tar and the volume writes here
    const sealed = runPgpThread(
      { op: 'seal', signingKey: o.signingKey.armor(), encryptTo: armored(o.encryptTo ?? []) },
      Readable.from(tar),
    );
    await Promise.all([pipeline(sealed.output, volumes), feed, sealed.done]);
  } catch (e) {
    await volumes.discard();
    if ((e as NodeJS.ErrnoException).code === 'ENOSPC')
      throw new BundleError('BUNDLE_WRITE_FAILED', `no space left in ${o.outDir}; nothing was written under a final name`);
    if (e instanceof BundleError) throw e;
    throw new BundleError('BUNDLE_WRITE_FAILED', `cannot write the bundle: ${(e as Error).message}`, {}, { cause: e });
  }
  let written: VolumeInfo[];
  const indexFile = join(o.outDir, base.replace(/\.pgp$/, '.volumes.json'));
  try {
    written = await volumes.commit();
    const index: VolumeIndex = {
      format: 'airlock-bundle-volumes/v1',
      id: m.id,
      channel: m.channel,
      sequence: m.sequence,
      encrypted: !!o.encryptTo?.length,
      volumes: written,
    };
    await fs.writeFile(`${indexFile}.tmp`, JSON.stringify(index, null, 2) + '\n');
    await fs.rename(`${indexFile}.tmp`, indexFile);
  } catch (e) {
    await volumes.discard();
    throw new BundleError('BUNDLE_WRITE_FAILED', `cannot finish the bundle: ${(e as Error).message}`);
  }
  return { base, volumes: written, indexFile, bytes: volumes.bytes };
}
