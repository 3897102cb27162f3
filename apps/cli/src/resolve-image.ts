import { ImageReference, Registries, manifestSelector, parseManifest, parseReference } from '@airlock/oci';
import { cliRegistryOptions } from './registry-options';

/** An image as the registry has it now: its digest, and for an index the digest of every platform manifest. */
export interface ResolvedImage {
  ref: ImageReference;
  digest: string;
  mediaType: string;
  platforms: { digest: string; platform?: string }[];
}

/** Resolves a reference to what the registry serves (manifest bytes hashed here, never trusted from headers). */
export async function resolveImage(reference: string, insecure: boolean): Promise<ResolvedImage> {
  const ref = parseReference(reference);
  const regs = new Registries(cliRegistryOptions(insecure ? [ref.registry] : []));
  try {
    const m = await regs.client(ref.registry).getManifest(ref.repository, manifestSelector(ref));
    const p = parseManifest(m.bytes, m.mediaType);
    const platforms =
      p.parsed.kind === 'index'
        ? p.parsed.manifests.map((d) => ({ digest: d.digest, platform: d.platform ? [d.platform.os, d.platform.architecture, d.platform.variant].filter(Boolean).join('/') : undefined }))
        : [];
    return { ref, digest: m.digest, mediaType: p.mediaType, platforms };
  } finally {
    await regs.close();
  }
}
