import { createReadStream, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { RegistryClient } from './registry-client';
import { RegistryError } from './errors';
import { parseManifest, Descriptor } from './manifest';
import { DigestVerifier } from './digest-verifier';
import { digestLike } from './digest';
import { Limiter } from './limiter';

/** Where an OCI image layout keeps a blob. */
export function layoutBlobPath(layoutDir: string, digest: string): string {
  const [algo, hex] = digest.split(':');
  return join(layoutDir, 'blobs', algo, hex);
}

async function readManifest(layoutDir: string, digest: string): Promise<Buffer> {
  const bytes = await fs.readFile(layoutBlobPath(layoutDir, digest)).catch(() => {
    throw new RegistryError('BLOB_UNKNOWN', `manifest ${digest} is not in the layout`);
  });
  if (digestLike(digest, bytes) !== digest) throw new RegistryError('BLOB_DIGEST_MISMATCH', `manifest ${digest} in the layout does not match its digest`);
  return bytes;
}

async function pushBlob(layoutDir: string, c: RegistryClient, repo: string, d: Descriptor): Promise<'present' | 'pushed'> {
  if (await c.hasBlob(repo, d.digest)) return 'present';
  const path = layoutBlobPath(layoutDir, d.digest);
  const st = await fs.stat(path).catch(() => undefined);
  if (!st) throw new RegistryError('BLOB_UNKNOWN', `blob ${d.digest} is neither in the bundle nor in ${c.registry}/${repo}`);
  const up = await c.startUpload(repo);
  if (up.mounted) return 'pushed';
  const v = new DigestVerifier(d.digest, d.size);
  createReadStream(path, { highWaterMark: 1 << 20 })
    .on('error', (e) => v.destroy(e))
    .pipe(v);
  try {
    const next = await c.patchUpload(repo, up.location, v, d.size);
    if (v.errored) throw v.errored;
    await c.completeUpload(repo, next, d.digest);
  } catch (e) {
    await c.cancelUpload(repo, up.location);
    throw v.errored ?? e;
  }
  return 'pushed';
}

/**
 * Pushes an image (or an index and every platform manifest) from an OCI
 * image layout into a repository, by digest: blobs first (those the
 * registry has are skipped), then each manifest by its digest. Tags are the
 * caller's business, after it has verified what landed.
 */
export async function pushFromLayout(layoutDir: string, c: RegistryClient, repo: string, digest: string, limiter = new Limiter(4)): Promise<{ blobsPushed: number; blobsPresent: number }> {
  const bytes = await readManifest(layoutDir, digest);
  const p = parseManifest(bytes);
  let pushed = 0;
  let present = 0;
  if (p.parsed.kind === 'index') {
    for (const child of p.parsed.manifests) {
      const r = await pushFromLayout(layoutDir, c, repo, child.digest, limiter);
      pushed += r.blobsPushed;
      present += r.blobsPresent;
    }
  } else {
    // blobs go up a few at a time; the manifest only after all of them are there
    const unique = [...new Map([p.parsed.config, ...p.parsed.layers].map((d) => [d.digest, d])).values()];
    await Promise.all(
      unique.map((d) =>
        limiter.run(async () => {
          if ((await pushBlob(layoutDir, c, repo, d)) === 'pushed') pushed++;
          else present++;
        }),
      ),
    );
  }
  await c.putManifest(repo, digest, { bytes, mediaType: p.mediaType, digest });
  return { blobsPushed: pushed, blobsPresent: present };
}
