import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { AirlockError, faultPoint, isAirlockError } from '@airlock/common';
import { OciLayout, RegistryClient, RegistryRepository, copyBlob, manifestDigests, walkImage } from '@airlock/oci';
import { IndexEntry, OpenedBundle2, PGP_THREADS, missingFor, openEntry, readWholeEntry } from '@airlock/bundle';
import { signaturePath } from '@airlock/signing';

/** The largest small entry (a manifest, a signature, a file of the layout) read into staging. */
const MAX_SMALL_ENTRY = 16 << 20;

/**
 * A format-2 bundle on the import's side: the small entries of the volumes
 * given are staged (manifests, signatures, the layout's files: what the
 * checks read), the blobs are read from the volumes only when they are
 * pushed, each checked against the index as it streams.
 */
export class CarriedEntries {
  private readonly byPath: Map<string, IndexEntry>;

  constructor(readonly bundle: OpenedBundle2) {
    this.byPath = new Map(bundle.index.entries.map((e) => [e.path, e]));
  }

  private blobEntry(digest: string): IndexEntry | undefined {
    const e = this.byPath.get(`oci/blobs/sha256/${digest.slice(7)}`);
    return e?.role === 'blob' ? e : undefined;
  }

  /** Does the bundle carry this blob, in volumes given? (Its bytes are checked when it is pushed.) */
  async hasBlob(b: { digest: string; size: number }): Promise<boolean> {
    const e = this.blobEntry(b.digest);
    if (!e || missingFor(this.bundle, e).length) return false;
    if (e.size !== b.size)
      throw new AirlockError('BUNDLE_DIGEST_MISMATCH', `the index says blob ${b.digest} has ${e.size} bytes, its manifest ${b.size}`);
    return true;
  }

  /** The volumes not given that hold an entry with one of these paths (or path prefixes). */
  private missingUnder(prefixes: string[]): number[] {
    const out = new Set<number>();
    for (const e of this.bundle.index.entries)
      if (prefixes.some((p) => e.path === p || (p.endsWith('/') && e.path.startsWith(p))))
        missingFor(this.bundle, e).forEach((v) => out.add(v));
    return [...out];
  }

  /**
   * The volumes not given that an image needs: for its manifests (at every
   * level), their signatures of both dialects, what is attached to them, and
   * each blob the registry does not hold already. Empty when it can be
   * imported from the volumes given.
   */
  async waitsFor(
    layout: OciLayout,
    digest: string,
    repository: string,
    registry: RegistryClient,
    dstRepository: string,
  ): Promise<number[]> {
    const top = this.missingUnder([`oci/blobs/sha256/${digest.slice(7)}`]);
    if (top.length) return top;
    let graph: Awaited<ReturnType<typeof walkImage>>;
    try {
      graph = await walkImage(layout, digest);
    } catch (e) {
      // a manifest below the top one in a volume not given
      const missing = this.bundle.index.entries.filter((x) => x.role === 'manifest').flatMap((x) => missingFor(this.bundle, x));
      if (missing.length && isAirlockError(e) && (e.code === 'BLOB_UNKNOWN' || e.code === 'MANIFEST_UNKNOWN')) return [...new Set(missing)];
      return [];
    }
    const digests = manifestDigests(graph);
    const attached = (this.bundle.index.attachments ?? [])
      .filter((a) => digests.includes(a.subject))
      .map((a) => `oci/blobs/sha256/${a.manifest.slice(7)}`);
    const sigs = digests.flatMap((d) => ['signatures', 'sigstore'].map((kind) => `${kind}/${dirname(signaturePath(repository, d, 1))}/`));
    const waits = new Set([...this.missingUnder([...sigs, ...attached])]);
    for (const b of graph.blobs) {
      const e = this.blobEntry(b.digest);
      const missing = e ? missingFor(this.bundle, e) : [];
      if (missing.length && !(await registry.hasBlob(dstRepository, b.digest))) missing.forEach((v) => waits.add(v));
    }
    return [...waits];
  }

  /**
   * Pushes the carried blobs these images need that their repository lacks,
   * a few at once (each decrypted on the thread pool as it streams into the
   * registry; the registry is handed the last bytes only once the digest
   * matched). Nothing refers to them until their manifests are pushed.
   */
  async push(
    images: { dst: RegistryRepository; blobs: { digest: string; size: number; mediaType: string }[] }[],
  ): Promise<{ bytes: number; blobs: number }> {
    const work: { dst: RegistryRepository; blob: { digest: string; size: number; mediaType: string }; entry: IndexEntry }[] = [];
    const seen = new Set<string>();
    for (const img of images)
      for (const blob of img.blobs) {
        const entry = this.blobEntry(blob.digest);
        const key = `${img.dst.client.registry}/${img.dst.repository}@${blob.digest}`;
        if (!entry || seen.has(key)) continue;
        seen.add(key);
        work.push({ dst: img.dst, blob, entry });
      }
    let bytes = 0;
    let blobs = 0;
    const total = work.reduce((a, w) => a + w.entry.size, 0);
    const next = async (): Promise<void> => {
      for (let w = work.shift(); w; w = work.shift()) {
        const entry = w.entry;
        let outcome: Awaited<ReturnType<typeof copyBlob>>;
        try {
          // the copy engine checks the blob's digest as it streams, holding back its last chunk: the part is held to its size here
          outcome = await copyBlob(
            {
              open: async () => ({ body: openEntry(this.bundle, entry, { digestCheckedByConsumer: true }), size: entry.size }),
              dst: w.dst.client,
              dstRepository: w.dst.repository,
            },
            w.blob,
          );
        } catch (e) {
          if (isAirlockError(e) && e.code === 'BLOB_DIGEST_MISMATCH')
            throw new AirlockError(
              'BUNDLE_DIGEST_MISMATCH',
              `${entry.path} (${entry.parts.map((p) => `${p.entry} in volume ${p.volume}`).join(', ')}) does not match its SHA-256 in the index`,
            );
          throw e;
        }
        if (outcome === 'copied') {
          bytes += entry.size;
          blobs++;
        }
        if (bytes > total / 2) faultPoint('import:mid-push');
      }
    };
    // one blob more than there are threads: while a thread decrypts, the registry takes in the blob before it
    await Promise.all(Array.from({ length: PGP_THREADS + 1 }, next));
    return { bytes, blobs };
  }
}

/** Stages every small entry (all but blobs) of the volumes given under `dir`, each checked against the index; the index's paths are its own safe names (ENTRY_NAME). */
export async function stageSmallEntries(b: OpenedBundle2, dir: string): Promise<CarriedEntries> {
  for (const e of b.index.entries) {
    if (e.role === 'blob' || missingFor(b, e).length) continue;
    const bytes = await readWholeEntry(b, e, MAX_SMALL_ENTRY);
    const dest = join(dir, e.path);
    await fs.mkdir(dirname(dest), { recursive: true });
    await fs.writeFile(dest, bytes, { flag: 'wx' });
  }
  return new CarriedEntries(b);
}

/** Reads every entry of the volumes given, each through its checks (for `bundle inspect --verify`); the first refusal is thrown. */
export async function verifyEntries(b: OpenedBundle2): Promise<number> {
  let n = 0;
  const entries = b.index.entries.filter((e) => !missingFor(b, e).length);
  const next = async (): Promise<void> => {
    for (let e = entries.shift(); e; e = entries.shift()) {
      for await (const _ of openEntry(b, e)) n += (_ as Buffer).length;
    }
  };
  await Promise.all(Array.from({ length: PGP_THREADS }, next));
  return n;
}
