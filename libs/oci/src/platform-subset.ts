import { RegistryError } from './errors';
import { sha256Digest } from './digest';
import { ManifestBlob, parseManifest } from './manifest';
import { ImageGraph, ManifestSource, platformOf, walkImage } from './image-walk';

/** A platform as docker, containerd and skopeo spell it: os/architecture[/variant]. */
export const PLATFORM = /^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/;
export const MAX_PLATFORMS_CHOSEN = 64;

/** Checks a list of platforms as a request gives it: 1 to 64, each os/architecture[/variant], none twice. */
export function checkPlatforms(platforms: string[]): string[] {
  if (!Array.isArray(platforms) || !platforms.length || platforms.length > MAX_PLATFORMS_CHOSEN)
    throw new RegistryError('INVALID_ARGUMENT', `platforms is a list of 1 to ${MAX_PLATFORMS_CHOSEN} platforms such as linux/amd64`);
  for (const p of platforms)
    if (typeof p !== 'string' || !PLATFORM.test(p))
      throw new RegistryError('INVALID_ARGUMENT', `platform ${JSON.stringify(String(p).slice(0, 40))} is not os/architecture[/variant]`);
  const twice = platforms.find((p, i) => platforms.indexOf(p) !== i);
  if (twice) throw new RegistryError('INVALID_ARGUMENT', `platform ${twice} is listed twice`);
  return platforms;
}

/**
 * The index that lists only the chosen platforms of `index` (as
 * containers/image's "strip sparse manifest list": the same document with
 * the other entries removed, so the digest changes). Every chosen platform
 * must be in the index (PLATFORM_UNKNOWN otherwise); an image that is not
 * an index has no platforms to choose. Choosing every platform returns the
 * index unchanged, digest included. The result depends on the index's bytes
 * and the choice only, so each side of a promotion (or of the gap) computes
 * the same digest from the verified source index.
 */
export function subsetIndex(index: ManifestBlob, platforms: string[]): ManifestBlob {
  const { parsed, mediaType } = parseManifest(index.bytes, index.mediaType);
  if (parsed.kind !== 'index')
    throw new RegistryError(
      'PLATFORM_UNKNOWN',
      `${index.digest} is a single-platform image; platforms can only be chosen from an index (a multi-platform image)`,
    );
  const offered = parsed.manifests.map(platformOf);
  const missing = checkPlatforms(platforms).filter((p) => !offered.includes(p));
  if (missing.length)
    throw new RegistryError(
      'PLATFORM_UNKNOWN',
      `${index.digest} has no platform ${missing.join(', ')} (it has ${[...new Set(offered.filter(Boolean))].join(', ') || 'none named'})`,
    );
  const keep = offered.map((p) => p !== undefined && platforms.includes(p));
  if (keep.every(Boolean)) return index;
  const doc = JSON.parse(index.bytes.toString('utf8')) as { manifests: unknown[] };
  const bytes = Buffer.from(JSON.stringify({ ...doc, manifests: doc.manifests.filter((_, i) => keep[i]) }));
  return { bytes, mediaType, digest: sha256Digest(bytes) };
}

/**
 * The image as it is promoted when only some platforms are chosen: the
 * subset index (subsetIndex), the platform manifests it lists and their
 * blobs. The one walker reads it, from the manifests of the graph already
 * walked (nothing is fetched again).
 */
export async function selectPlatforms(graph: ImageGraph, platforms: string[]): Promise<ImageGraph> {
  const top = subsetIndex(graph.top, platforms);
  if (top.digest === graph.top.digest) return graph;
  const read = new Map<string, ManifestBlob>(graph.manifests.map((m) => [m.digest, m]));
  const walked: ManifestSource = {
    getManifest: (digest) => {
      const m = read.get(digest);
      if (!m) throw new RegistryError('MANIFEST_UNKNOWN', `${digest} is not a manifest of ${graph.top.digest}`);
      return Promise.resolve(m);
    },
  };
  return walkImage(walked, top.digest, top);
}
