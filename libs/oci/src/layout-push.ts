import { createReadStream, promises as fs } from 'node:fs';
import { RegistryClient } from './registry-client';
import { RegistryError } from './errors';
import { Descriptor } from './manifest';
import { DigestVerifier } from './digest-verifier';
import { Limiter } from './limiter';
import { LayoutImage, layoutBlobPath, readLayoutImage } from './layout-image';

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
 * Pushes an image (or an index and every manifest under it) from an OCI
 * image layout into a repository, by digest: blobs first (those the
 * registry has are skipped), then each manifest by its digest, children
 * before their index. Tags are the caller's business, after it has verified
 * what landed.
 */
export async function pushFromLayout(layoutDir: string, c: RegistryClient, repo: string, digest: string, limiter = new Limiter(4), image?: LayoutImage): Promise<{ blobsPushed: number; blobsPresent: number }> {
  const img = image ?? (await readLayoutImage(layoutDir, digest));
  let pushed = 0;
  let present = 0;
  // blobs go up a few at a time; the manifests only after all of them are there
  await Promise.all(
    img.blobs.map((d) =>
      limiter.run(async () => {
        if ((await pushBlob(layoutDir, c, repo, d)) === 'pushed') pushed++;
        else present++;
      }),
    ),
  );
  for (const m of img.manifests) await c.putManifest(repo, m.digest, { bytes: m.bytes, mediaType: m.mediaType, digest: m.digest });
  return { blobsPushed: pushed, blobsPresent: present };
}
