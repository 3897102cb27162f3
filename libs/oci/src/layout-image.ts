import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { RegistryError } from './errors';
import { parseManifest, Descriptor, ManifestBlob, ParsedManifest } from './manifest';
import { digestLike } from './digest';

/** Where an OCI image layout keeps a blob. */
export function layoutBlobPath(layoutDir: string, digest: string): string {
  const [algo, hex] = digest.split(':');
  return join(layoutDir, 'blobs', algo, hex);
}

/** Index levels an image may nest (an index of indexes of manifests is two). */
const MAX_DEPTH = 4;
const MAX_MANIFESTS = 10_000;

/** One manifest of an image in a layout: its exact bytes (checked against its digest) and what it references. */
export interface LayoutManifest extends ManifestBlob {
  parsed: ParsedManifest;
}

/** Everything an image in a layout is made of, read and checked without writing anywhere. */
export interface LayoutImage {
  /** Every manifest, children before the index that lists them (the order to push them in); the image's own digest last. */
  manifests: LayoutManifest[];
  /** Every blob the image manifests reference, once each; `inLayout` is false for a blob the layout does not hold. */
  blobs: (Descriptor & { inLayout: boolean })[];
}

async function readManifest(layoutDir: string, digest: string): Promise<Buffer> {
  const bytes = await fs.readFile(layoutBlobPath(layoutDir, digest)).catch(() => {
    throw new RegistryError('BLOB_UNKNOWN', `manifest ${digest} is not in the layout`);
  });
  if (digestLike(digest, bytes) !== digest) throw new RegistryError('BLOB_DIGEST_MISMATCH', `manifest ${digest} in the layout does not match its digest`);
  return bytes;
}

/**
 * Reads an image (or an index and every manifest under it, to MAX_DEPTH
 * levels) out of an OCI image layout: each manifest checked against its
 * digest and parsed, each referenced blob looked up (its size must be the
 * descriptor's). Nothing is written; a blob the layout lacks is reported,
 * not refused, since the destination may hold it already.
 */
export async function readLayoutImage(layoutDir: string, digest: string): Promise<LayoutImage> {
  const manifests = new Map<string, LayoutManifest>();
  const blobs = new Map<string, Descriptor & { inLayout: boolean }>();
  const visit = async (d: string, depth: number): Promise<void> => {
    if (manifests.has(d)) return;
    if (depth > MAX_DEPTH) throw new RegistryError('MANIFEST_UNSUPPORTED', `image ${digest} nests indexes more than ${MAX_DEPTH} levels deep`);
    if (manifests.size >= MAX_MANIFESTS) throw new RegistryError('MANIFEST_UNSUPPORTED', `image ${digest} holds more than ${MAX_MANIFESTS} manifests`);
    const bytes = await readManifest(layoutDir, d);
    const p = parseManifest(bytes);
    if (p.parsed.kind === 'index') for (const c of p.parsed.manifests) await visit(c.digest, depth + 1);
    else
      for (const b of [p.parsed.config, ...p.parsed.layers]) {
        if (blobs.has(b.digest)) continue;
        const st = await fs.stat(layoutBlobPath(layoutDir, b.digest)).catch(() => undefined);
        if (st && st.size !== b.size) throw new RegistryError('BLOB_DIGEST_MISMATCH', `blob ${b.digest} in the layout has ${st.size} bytes, its manifest says ${b.size}`);
        blobs.set(b.digest, { ...b, inLayout: !!st });
      }
    manifests.set(d, { bytes, mediaType: p.mediaType, digest: d, parsed: p.parsed });
  };
  await visit(digest, 0);
  return { manifests: [...manifests.values()], blobs: [...blobs.values()] };
}
