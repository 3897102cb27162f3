import { sha256Digest } from './digest';
import { Descriptor, ManifestBlob } from './manifest';
import { MediaTypes } from './media-types';
import { RegistryClient } from './registry-client';

/**
 * What every writer of the small manifests attached to an image (cosign's
 * `.sig`, `.att`, `.sbom`) needs: when two layers are the same, the config
 * cosign writes for a list of layers, the manifest over them, and a small
 * blob stored in one request pair.
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

/**
 * The attached manifest over `layers` with its config (attachedConfig); the
 * fields of `base` (the manifest there before, when merging) are kept where
 * they stand. The config blob is the caller's to store before the manifest.
 */
export function attachedManifest(
  layers: Pick<Descriptor, 'digest'>[],
  base: Record<string, unknown> = {},
): { config: { bytes: Buffer; digest: string }; manifest: ManifestBlob } {
  const config = attachedConfig(layers);
  const bytes = Buffer.from(
    JSON.stringify({
      ...base,
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      config: { mediaType: MediaTypes.ociConfig, size: config.bytes.length, digest: config.digest },
      layers,
    }),
  );
  return { config, manifest: { bytes, mediaType: MediaTypes.ociManifest, digest: sha256Digest(bytes) } };
}

/** Stores a small blob in one upload (POST, then PUT with the bytes); the registry keeps one copy of a blob it has already. */
export async function putSmallBlob(client: RegistryClient, repository: string, digest: string, bytes: Buffer): Promise<void> {
  const up = await client.startUpload(repository);
  if (!up.mounted) await client.completeUpload(repository, up.location, digest, bytes);
}
