import { createHash, randomBytes } from 'node:crypto';
import { MediaTypes, RegistryClient, sha256Digest } from '@airlock/oci';

async function pushBlob(c: RegistryClient, repo: string, bytes: Buffer): Promise<{ digest: string; size: number }> {
  const digest = sha256Digest(bytes);
  if (!(await c.hasBlob(repo, digest))) {
    const up = await c.startUpload(repo);
    if (!up.mounted) await c.completeUpload(repo, up.location, digest, bytes);
  }
  return { digest, size: bytes.length };
}

/**
 * Pushes a small sample image (random layers, a valid config and schema2
 * manifest) so the sandbox has something to promote without any network.
 */
export async function pushSampleImage(c: RegistryClient, repo: string, tag: string, label: string): Promise<string> {
  const layers = [randomBytes(256 << 10), randomBytes(64 << 10)];
  const pushed = [];
  for (const l of layers) pushed.push({ ...(await pushBlob(c, repo, l)), mediaType: MediaTypes.dockerLayer });
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Labels: { 'org.opencontainers.image.title': 'airlock sample', 'airlock.sample': label } },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => 'sha256:' + createHash('sha256').update(l).digest('hex')) },
    }),
  );
  const cfg = await pushBlob(c, repo, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.dockerManifest,
      config: { mediaType: MediaTypes.dockerConfig, ...cfg },
      layers: pushed.map((p) => ({ mediaType: p.mediaType, digest: p.digest, size: p.size })),
    }),
  );
  const digest = sha256Digest(manifest);
  await c.putManifest(repo, tag, { bytes: manifest, mediaType: MediaTypes.dockerManifest, digest });
  return digest;
}
