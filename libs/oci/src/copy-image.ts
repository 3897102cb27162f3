import { RegistryError } from './errors';
import { ImageReference, formatReference, parseReference, manifestSelector } from './reference';
import { Registries } from './registries';
import { Descriptor, ManifestBlob } from './manifest';
import { Limiter } from './limiter';
import { RetryPolicy } from './retry';
import { digestLike } from './digest';
import { BlobOutcome, ImageDestination, ImageSource } from './image-endpoint';
import { RegistryRepository } from './registry-repository';
import { walkImage } from './image-walk';

/** Progress of one copy, in bytes of blobs (skipped and mounted blobs count as done at once). */
export interface CopyProgress {
  bytesDone: number;
  bytesTotal: number;
  blobsDone: number;
  blobsTotal: number;
}

export interface CopyOptions {
  onProgress?: (p: CopyProgress) => void;
  /** Expected digest: the copy fails unless the source resolves to it (verified content only). */
  expectDigest?: string;
  /**
   * The source's top manifest, already fetched by the caller (a promotion
   * verifies signatures over it first): it is not fetched again, and its
   * bytes must hash to its digest.
   */
  sourceManifest?: ManifestBlob;
}

/** What a copy did. */
export interface CopyResult {
  source: string;
  destination: string;
  digest: string;
  mediaType: string;
  /** Bytes streamed between registries (not counting skipped or mounted blobs). */
  bytesMoved: number;
  blobsCopied: number;
  blobsSkipped: number;
  blobsMounted: number;
  manifests: number;
}

export interface CopyEngineOptions {
  /** Blobs in flight at once across every copy of this engine (default 4). */
  concurrency?: number;
  retry?: RetryPolicy;
  monolithicMaxBytes?: number;
}

interface Tally {
  bytesMoved: number;
  copied: number;
  skipped: number;
  mounted: number;
  manifests: number;
  progress: CopyProgress;
}

/**
 * Copies images by digest between any image source and destination
 * (registry repositories, OCI layouts). One engine shares connection pools,
 * a blob concurrency limit, and what it learned about where blobs live,
 * across all the copies it runs (so a batch mounts shared layers).
 */
export class CopyEngine {
  private readonly limiter: Limiter;
  private readonly inFlight = new Map<string, Promise<BlobOutcome>>();
  /** registry@digest -> a transfer of that blob into some repository of that registry. */
  private readonly landing = new Map<string, Promise<unknown>>();
  /** registry -> digest -> a repository known to hold it. */
  private readonly located = new Map<string, Map<string, string>>();

  constructor(
    readonly registries: Registries,
    private readonly opts: CopyEngineOptions = {},
  ) {
    this.limiter = new Limiter(opts.concurrency ?? 4);
  }

  /**
   * Copies `source` to `destination` between registries. The source is
   * resolved to a digest once; everything after works by that digest, so a
   * tag moved meanwhile changes nothing.
   */
  async copyImage(source: string | ImageReference, destination: string | ImageReference, o: CopyOptions = {}): Promise<CopyResult> {
    const src = typeof source === 'string' ? parseReference(source) : source;
    let dst = typeof destination === 'string' ? parseReference(destination, { defaultTag: false }) : destination;
    if (!dst.tag && !dst.digest && src.tag) dst = { ...dst, tag: src.tag };
    const from = new RegistryRepository(this.registries.client(src.registry), src.repository);
    const to = new RegistryRepository(this.registries.client(dst.registry), dst.repository);
    // both registries are reached at once; a failure of the destination counts only once the source has answered
    const dstReady = to.client.connect();
    dstReady.catch(() => undefined);

    const top = o.sourceManifest ?? (await from.client.getManifest(src.repository, manifestSelector(src)));
    if (o.sourceManifest && (digestLike(top.digest, top.bytes) !== top.digest || (src.digest && src.digest !== top.digest))) {
      throw new RegistryError('BLOB_DIGEST_MISMATCH', `the manifest given for ${formatReference(src)} is not the one its digest names`);
    }
    if (o.expectDigest && top.digest !== o.expectDigest) {
      throw new RegistryError(
        'BLOB_DIGEST_MISMATCH',
        `${formatReference(src)} now resolves to ${top.digest}, not the expected ${o.expectDigest}`,
      );
    }
    if (dst.digest && dst.digest !== top.digest) {
      throw new RegistryError('INVALID_ARGUMENT', `destination pins ${dst.digest} but the source is ${top.digest}`);
    }
    await dstReady;
    const r = await this.copy(from, to, { top, tag: dst.tag, onProgress: o.onProgress });
    return { source: formatReference({ ...src, digest: top.digest }), destination: formatReference({ ...dst, digest: top.digest }), ...r };
  }

  /**
   * Copies the image `top` heads from any source to any destination (a
   * registry repository or an OCI layout, either side): every blob first
   * (skipped when present, mounted within a registry), then each platform
   * manifest, then `top` under `tag` (or its digest). The image is read by
   * walkImage, the one rule for indexes everywhere.
   */
  async copy(
    source: ImageSource,
    dest: ImageDestination,
    o: { top: ManifestBlob; tag?: string; onProgress?: (p: CopyProgress) => void },
  ): Promise<Omit<CopyResult, 'source' | 'destination'>> {
    const tally: Tally = {
      bytesMoved: 0,
      copied: 0,
      skipped: 0,
      mounted: 0,
      manifests: 0,
      progress: { bytesDone: 0, bytesTotal: 0, blobsDone: 0, blobsTotal: 0 },
    };
    const report = () => o.onProgress?.({ ...tally.progress });
    const [graph, present] = await Promise.all([walkImage(source, o.top.digest, o.top), dest.manifestDigest(o.top.digest)]);
    const top = graph.top;
    if (present) {
      // The destination accepted this manifest earlier, so everything it references is there.
      const bytes = graph.blobs.reduce((a, d) => a + d.size, 0);
      tally.skipped = graph.blobs.length;
      tally.progress = { bytesDone: bytes, bytesTotal: bytes, blobsDone: graph.blobs.length, blobsTotal: graph.blobs.length };
      report();
    } else {
      await this.copyBlobs(source, dest, graph.blobs, tally, report);
      for (const m of graph.manifests.slice(0, -1)) {
        await dest.putManifest(m.digest, m);
        tally.manifests++;
      }
    }
    if (!present || (o.tag && (await dest.manifestDigest(o.tag)) !== top.digest)) {
      await dest.putManifest(o.tag ?? top.digest, top);
      tally.manifests++;
    }
    return {
      digest: top.digest,
      mediaType: top.mediaType,
      bytesMoved: tally.bytesMoved,
      blobsCopied: tally.copied,
      blobsSkipped: tally.skipped,
      blobsMounted: tally.mounted,
      manifests: tally.manifests,
    };
  }

  /** Closes every registry connection of this engine. */
  async close(): Promise<void> {
    await this.registries.close();
  }

  private knownRepo(registry: string, digest: string): string | undefined {
    return this.located.get(registry)?.get(digest);
  }

  private remember(registry: string, digest: string, repository: string): void {
    let m = this.located.get(registry);
    if (!m) this.located.set(registry, (m = new Map<string, string>()));
    m.set(digest, repository);
  }

  private async copyBlobs(
    source: ImageSource,
    dest: ImageDestination,
    descs: Descriptor[],
    tally: Tally,
    report: () => void,
  ): Promise<void> {
    const unique = [...new Map(descs.map((d) => [d.digest, d])).values()];
    tally.progress.blobsTotal += unique.length;
    tally.progress.bytesTotal += unique.reduce((a, d) => a + d.size, 0);
    report();
    const into = dest.location;
    const sameRegistry = !!into && source.location?.registry === into.registry;
    await Promise.all(
      unique.map(async (d) => {
        const key = `${dest.label}@${d.digest}`;
        let job = this.inFlight.get(key);
        const mine = !job;
        if (!job) {
          let moved = 0;
          const landingKey = into ? `${into.registry}@${d.digest}` : key;
          // The same blob on its way into another repository of this registry: wait, then mount it.
          const elsewhere = sameRegistry ? undefined : this.landing.get(landingKey);
          job = (elsewhere ? elsewhere.catch(() => undefined) : Promise.resolve())
            // Small blobs are latency-bound, not bandwidth-bound: they skip the queue (images are bounded by the caller).
            .then(() =>
              (d.size <= (this.opts.monolithicMaxBytes ?? 1 << 20)
                ? (f: () => Promise<BlobOutcome>) => f()
                : (f: () => Promise<BlobOutcome>) => this.limiter.run(f))(() =>
                dest.putBlob(d, () => source.openBlob(d.digest), {
                  retry: this.opts.retry,
                  monolithicMaxBytes: this.opts.monolithicMaxBytes,
                  mountFrom: sameRegistry ? source.location?.repository : into && this.knownRepo(into.registry, d.digest),
                  onBytes: (n) => {
                    moved += n;
                    tally.bytesMoved += n;
                    tally.progress.bytesDone += n;
                    report();
                  },
                }),
              ),
            )
            .then((outcome) => {
              if (into) this.remember(into.registry, d.digest, into.repository);
              if (outcome !== 'copied') {
                tally.progress.bytesDone += d.size - moved;
              }
              return outcome;
            })
            .finally(() => {
              this.inFlight.delete(key);
              if (this.landing.get(landingKey) === job) this.landing.delete(landingKey);
            });
          this.inFlight.set(key, job);
          if (!elsewhere) this.landing.set(landingKey, job);
        }
        const outcome = await job;
        if (!mine) tally.progress.bytesDone += d.size;
        if (mine) {
          if (outcome === 'copied') tally.copied++;
          else if (outcome === 'skipped') tally.skipped++;
          else tally.mounted++;
        } else {
          tally.skipped++;
        }
        tally.progress.blobsDone++;
        report();
      }),
    );
  }
}

/** Copies one image with a throw-away engine (see CopyEngine for batches). */
export async function copyImage(
  source: string,
  destination: string,
  opts: CopyOptions & CopyEngineOptions & { registries?: Registries } = {},
): Promise<CopyResult> {
  const registries = opts.registries ?? new Registries();
  const engine = new CopyEngine(registries, opts);
  try {
    return await engine.copyImage(source, destination, opts);
  } finally {
    if (!opts.registries) await registries.close();
  }
}
