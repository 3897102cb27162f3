import { ImageGraph, ImageReference, Registries, RegistryRepository, manifestSelector, parseReference, walkImage } from '@airlock/oci';
import { cliRegistryOptions } from './registry-options';

/** An image as the registry has it now: its digest, and for an index every platform manifest. */
export interface ResolvedImage {
  ref: ImageReference;
  digest: string;
  mediaType: string;
  graph: ImageGraph;
}

/** Resolves a reference to what the registry serves (manifest bytes hashed here, never trusted from headers). */
export async function resolveImage(reference: string, insecure: boolean): Promise<ResolvedImage> {
  const ref = parseReference(reference);
  const regs = new Registries(cliRegistryOptions(insecure ? [ref.registry] : []));
  try {
    const repo = new RegistryRepository(regs.client(ref.registry), ref.repository);
    const top = await repo.client.getManifest(ref.repository, manifestSelector(ref));
    const graph = await walkImage(repo, top.digest, top);
    return { ref, digest: top.digest, mediaType: graph.top.mediaType, graph };
  } finally {
    await regs.close();
  }
}
