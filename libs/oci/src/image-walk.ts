import { RegistryError } from './errors';
import { Descriptor, ManifestBlob, ParsedManifest, parseManifest } from './manifest';

/** Anything manifests can be read from by digest (a registry repository, an OCI layout). */
export interface ManifestSource {
  /** The manifest whose bytes hash to `digest` (a source refuses other bytes). */
  getManifest(digest: string): Promise<ManifestBlob>;
}

/** One manifest of an image, with what it references. */
export interface WalkedManifest extends ManifestBlob {
  parsed: ParsedManifest;
  /** For a platform manifest: os/architecture[/variant] as its index lists it. */
  platform?: string;
}

/** Everything an image is made of. */
export interface ImageGraph {
  /** The image's own manifest (an image manifest, or an index). */
  top: WalkedManifest;
  /** Every manifest, platform manifests before the index that lists them (the order to write them in): `top` is last. */
  manifests: WalkedManifest[];
  /** Every blob the image manifests reference, once each. */
  blobs: Descriptor[];
}

const MAX_PLATFORMS = 1024;

/**
 * Reads an image the one way airlock reads images, whatever the transport:
 * its manifest, and for an index every platform manifest it lists. An index
 * inside an index is refused (MANIFEST_UNSUPPORTED), as containers/image
 * copies one level of platforms and so do the registries' clients: one rule
 * for copies, promotions, bundles and signatures alike. `top` may be given
 * when the caller already holds it (its bytes were checked against its
 * digest).
 */
export async function walkImage(source: ManifestSource, digest: string, top?: ManifestBlob): Promise<ImageGraph> {
  const first = top ?? (await source.getManifest(digest));
  const root: WalkedManifest = { ...first, ...withParsed(first) };
  const manifests: WalkedManifest[] = [];
  const blobs = new Map<string, Descriptor>();
  const addBlobs = (m: WalkedManifest) => {
    if (m.parsed.kind === 'image') for (const b of [m.parsed.config, ...m.parsed.layers]) if (!blobs.has(b.digest)) blobs.set(b.digest, b);
  };
  if (root.parsed.kind === 'index') {
    if (root.parsed.manifests.length > MAX_PLATFORMS)
      throw new RegistryError('MANIFEST_UNSUPPORTED', `index ${digest} lists more than ${MAX_PLATFORMS} manifests`);
    const seen = new Set<string>();
    const children = await Promise.all(
      root.parsed.manifests
        .filter((c) => !seen.has(c.digest) && seen.add(c.digest))
        .map(async (c) => {
          const m = await source.getManifest(c.digest);
          const platform = platformOf(c);
          const w: WalkedManifest = { ...m, ...withParsed(m, c.mediaType), ...(platform !== undefined ? { platform } : {}) };
          if (w.parsed.kind === 'index')
            throw new RegistryError(
              'MANIFEST_UNSUPPORTED',
              `index ${digest} lists another index (${c.digest}); nested indexes are not supported`,
            );
          return w;
        }),
    );
    for (const c of children) {
      manifests.push(c);
      addBlobs(c);
    }
  }
  addBlobs(root);
  manifests.push(root);
  return { top: root, manifests, blobs: [...blobs.values()] };
}

/** The platform an index entry names, os/architecture[/variant] (as docker, containerd and skopeo spell it); undefined when it names none. */
export function platformOf(d: Descriptor): string | undefined {
  const p = d.platform;
  return p ? [p.os, p.architecture, p.variant].filter(Boolean).join('/') : undefined;
}

function withParsed(m: ManifestBlob, hint?: string): { mediaType: string; parsed: ParsedManifest } {
  const p = parseManifest(m.bytes, m.mediaType || hint);
  return { mediaType: p.mediaType, parsed: p.parsed };
}

/** The digest of every manifest of an image, the image's own first, then each platform manifest in the order its index lists them: what carries a signature. */
export function manifestDigests(g: ImageGraph): string[] {
  return [g.top.digest, ...g.manifests.slice(0, -1).map((m) => m.digest)];
}
