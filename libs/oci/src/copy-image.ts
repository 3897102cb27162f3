import { RegistryError } from './errors';
import { ImageReference, formatReference, parseReference, manifestSelector } from './reference';
import { Registries } from './registries';
import { RegistryClient } from './registry-client';
import { Descriptor, ManifestBlob, parseManifest } from './manifest';
import { BlobOutcome, copyBlob } from './blob-copy';
import { Limiter } from './limiter';
import { RetryPolicy } from './retry';
import { digestLike } from './digest';

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
 * Copies images between registries by digest. One engine shares connection
 * pools, a blob concurrency limit, and what it learned about where blobs
 * live, across all the copies it runs (so a batch mounts shared layers).
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
   * Copies `source` to `destination`. The source is resolved to a digest
   * once; everything after works by that digest, so a tag moved meanwhile
   * changes nothing. Manifests are pushed only after all their blobs exist.
   */
  async copyImage(source: string | ImageReference, destination: string | ImageReference, o: CopyOptions = {}): Promise<CopyResult> {
    const src = typeof source === 'string' ? parseReference(source) : source;
    let dst = typeof destination === 'string' ? parseReference(destination, { defaultTag: false }) : destination;
    if (!dst.tag && !dst.digest && src.tag) dst = { ...dst, tag: src.tag };
    const srcClient = this.registries.client(src.registry);
    const dstClient = this.registries.client(dst.registry);
    // both registries are reached at once; a failure of the destination counts only once the source has answered
    const dstReady = dstClient.connect();
    dstReady.catch(() => undefined);

    const top = o.sourceManifest ?? (await srcClient.getManifest(src.repository, manifestSelector(src)));
    if (o.sourceManifest && (digestLike(top.digest, top.bytes) !== top.digest || (src.digest && src.digest !== top.digest))) {
      throw new RegistryError('BLOB_DIGEST_MISMATCH', `the manifest given for ${formatReference(src)} is not the one its digest names`);
    }
    if (o.expectDigest && top.digest !== o.expectDigest) {
      throw new RegistryError('BLOB_DIGEST_MISMATCH', `${formatReference(src)} now resolves to ${top.digest}, not the expected ${o.expectDigest}`);
    }
    if (dst.digest && dst.digest !== top.digest) {
      throw new RegistryError('INVALID_ARGUMENT', `destination pins ${dst.digest} but the source is ${top.digest}`);
    }
    const tally: Tally = { bytesMoved: 0, copied: 0, skipped: 0, mounted: 0, manifests: 0, progress: { bytesDone: 0, bytesTotal: 0, blobsDone: 0, blobsTotal: 0 } };
    const report = () => o.onProgress?.({ ...tally.progress });
    const parsed = parseManifest(top.bytes, top.mediaType);
    const topManifest: ManifestBlob = { ...top, mediaType: parsed.mediaType };

    await dstReady;
    const present = await dstClient.headManifest(dst.repository, top.digest);
    if (present) {
      // The registry accepted this manifest earlier, so everything it references is there.
      const blobs = await this.countBlobs(srcClient, src.repository, parsed.parsed);
      tally.skipped = blobs.count;
      tally.progress = { bytesDone: blobs.bytes, bytesTotal: blobs.bytes, blobsDone: blobs.count, blobsTotal: blobs.count };
      report();
    } else if (parsed.parsed.kind === 'index') {
      const children = parsed.parsed.manifests;
      await Promise.all(
        children.map(async (child) => {
          const m = await srcClient.getManifest(src.repository, child.digest);
          const p = parseManifest(m.bytes, m.mediaType || child.mediaType);
          if (p.parsed.kind !== 'image') throw new RegistryError('MANIFEST_UNSUPPORTED', `nested index ${child.digest} is not supported`);
          await this.copyBlobs(srcClient, src.repository, dstClient, dst.repository, [p.parsed.config, ...p.parsed.layers], tally, report);
          await dstClient.putManifest(dst.repository, m.digest, { ...m, mediaType: p.mediaType });
          tally.manifests++;
        }),
      );
    } else {
      await this.copyBlobs(srcClient, src.repository, dstClient, dst.repository, [parsed.parsed.config, ...parsed.parsed.layers], tally, report);
    }

    const selector = dst.tag ?? top.digest;
    if (!present || (dst.tag && (await dstClient.headManifest(dst.repository, dst.tag))?.digest !== top.digest)) {
      await dstClient.putManifest(dst.repository, selector, topManifest);
      tally.manifests++;
    }
    return {
      source: formatReference({ ...src, digest: top.digest }),
      destination: formatReference({ ...dst, digest: top.digest }),
      digest: top.digest,
      mediaType: parsed.mediaType,
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

  private async countBlobs(src: RegistryClient, repo: string, parsed: ReturnType<typeof parseManifest>['parsed']): Promise<{ count: number; bytes: number }> {
    if (parsed.kind === 'image') {
      const all = [parsed.config, ...parsed.layers];
      return { count: all.length, bytes: all.reduce((a, d) => a + d.size, 0) };
    }
    let count = 0;
    let bytes = 0;
    for (const child of parsed.manifests) {
      const m = await src.getManifest(repo, child.digest);
      const c = await this.countBlobs(src, repo, parseManifest(m.bytes, m.mediaType || child.mediaType).parsed);
      count += c.count;
      bytes += c.bytes;
    }
    return { count, bytes };
  }

  private knownRepo(registry: string, digest: string): string | undefined {
    return this.located.get(registry)?.get(digest);
  }

  private remember(registry: string, digest: string, repository: string): void {
    let m = this.located.get(registry);
    if (!m) this.located.set(registry, (m = new Map()));
    m.set(digest, repository);
  }

  private async copyBlobs(src: RegistryClient, srcRepo: string, dst: RegistryClient, dstRepo: string, descs: Descriptor[], tally: Tally, report: () => void): Promise<void> {
    const unique = [...new Map(descs.map((d) => [d.digest, d])).values()];
    tally.progress.blobsTotal += unique.length;
    tally.progress.bytesTotal += unique.reduce((a, d) => a + d.size, 0);
    report();
    const sameRegistry = src.registry === dst.registry;
    await Promise.all(
      unique.map(async (d) => {
        const key = `${dst.registry}/${dstRepo}@${d.digest}`;
        let job = this.inFlight.get(key);
        const mine = !job;
        if (!job) {
          let moved = 0;
          const landingKey = `${dst.registry}@${d.digest}`;
          // The same blob on its way into another repository of this registry: wait, then mount it.
          const elsewhere = sameRegistry ? undefined : this.landing.get(landingKey);
          job = (elsewhere ? elsewhere.catch(() => undefined) : Promise.resolve())
            // Small blobs are latency-bound, not bandwidth-bound: they skip the queue (images are bounded by the caller).
            .then(() => (d.size <= (this.opts.monolithicMaxBytes ?? 1 << 20) ? (f: () => Promise<BlobOutcome>) => f() : (f: () => Promise<BlobOutcome>) => this.limiter.run(f))(() =>
              copyBlob(
                { src, srcRepository: srcRepo, dst, dstRepository: dstRepo, mountFrom: sameRegistry ? srcRepo : this.knownRepo(dst.registry, d.digest) },
                d,
                {
                  retry: this.opts.retry,
                  monolithicMaxBytes: this.opts.monolithicMaxBytes,
                  onBytes: (n) => {
                    moved += n;
                    tally.bytesMoved += n;
                    tally.progress.bytesDone += n;
                    report();
                  },
                },
              ),
            ))
            .then((outcome) => {
              this.remember(dst.registry, d.digest, dstRepo);
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
export async function copyImage(source: string, destination: string, opts: CopyOptions & CopyEngineOptions & { registries?: Registries } = {}): Promise<CopyResult> {
  const registries = opts.registries ?? new Registries();
  const engine = new CopyEngine(registries, opts);
  try {
    return await engine.copyImage(source, destination, opts);
  } finally {
    if (!opts.registries) await registries.close();
  }
}
