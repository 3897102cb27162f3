import { sha256Digest } from './digest';
import { Descriptor } from './manifest';
import { RegistryClient } from './registry-client';

/**
 * What every writer of the small manifests attached to an image (cosign's
 * `.sig`, `.att`, `.sbom`) needs: when two layers are the same, the config
 * cosign writes for a list of layers, and a small blob stored in one request
 * pair.
 */

/** Two layers are the same when their digest and annotations are (a signature is its payload and its annotation). */
export const sameLayer = (a: Pick<Descriptor, 'digest' | 'annotations'>, b: Pick<Descriptor, 'digest' | 'annotations'>): boolean =>
  a.digest === b.digest && JSON.stringify(a.annotations ?? {}) === JSON.stringify(b.annotations ?? {});

/** The config cosign writes for an attached manifest: an image config whose layers are the given ones. */
export function attachedConfig(layers: Pick<Descriptor, 'digest'>[]): { bytes: Buffer; digest: string } {
  const bytes = Buffer.from(
    JSON.stringify({
      architecture: '',
      created: '0001-01-01T00:00:00Z',
      history: layers.map(() => ({ created: '0001-01-01T00:00:00Z' })),
      os: '',
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
      config: {},
    }),
  );
  return { bytes, digest: sha256Digest(bytes) };
}

/** Stores a small blob in one upload (POST, then PUT with the bytes); the registry keeps one copy of a blob it has already. */
export async function putSmallBlob(client: RegistryClient, repository: string, digest: string, bytes: Buffer): Promise<void> {
  const up = await client.startUpload(repository);
  if (!up.mounted) await client.completeUpload(repository, up.location, digest, bytes);
}
