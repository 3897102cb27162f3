import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { AirlockError, faultPoint } from '@airlock/common';
import {
  ATTACHMENT_KINDS,
  LayoutImageEntry,
  ManifestBlob,
  Registries,
  RegistryRepository,
  attachmentTag,
  layoutBlobPath,
  layoutFiles,
  manifestDigests,
  parseReference,
  lookupAttachments,
  selectPlatforms,
  walkImage,
} from '@airlock/oci';
import { encodeCarriedSigstore, signaturePath } from '@airlock/signing';
import { RegistrySigstoreStore } from './sigstore-tag-store';
import {
  BUNDLE_FORMAT,
  BundleAttachment,
  BundleManifest,
  EntryRole,
  PlannedEntry,
  manifestOfIndex,
  rewriteVolumes,
  writeBundle,
  writeBundle2,
} from '@airlock/bundle';
import { StageCatalog } from './stage-catalog';
import { channelOf } from './channels';
import { ExportJob, ExportProgress, ExportWritten } from './queues';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** What a bundle carries, read from the source: the small entries in memory, the blobs by where to read them. */
interface Collected {
  content: Map<string, Buffer>;
  blobs: Map<string, { source: RegistryRepository; digest: string; size: number }>;
  attachments: BundleAttachment[];
  leftOut: number;
}

/**
 * What an export job carries, read from the source registry by the one
 * walker (blobs the far side has left out unless `full`): the OCI layout
 * files, every manifest, what is attached to them, and the source
 * signatures of both dialects. The same job read again gives the same
 * entries, unless the source changed (which the writer's digest checks catch).
 */
async function collect(job: ExportJob, deps: { catalog: StageCatalog; registries: Registries }): Promise<Collected> {
  const ch = channelOf(deps.catalog, job.channel);
  const from = deps.catalog.get(ch.config.from);
  const known = new Set(job.knownBlobs);
  const content = new Map<string, Buffer>();
  const blobs = new Map<string, { source: RegistryRepository; digest: string; size: number }>();
  const images: LayoutImageEntry[] = [];
  const attachments: BundleAttachment[] = [];
  let leftOut = 0;
  for (const p of job.images) {
    const src = parseReference(p.source, { defaultTag: false });
    const dst = parseReference(p.target, { defaultTag: false });
    const source = new RegistryRepository(deps.registries.client(src.registry), src.repository);
    const whole = await walkImage(source, p.digest);
    // chosen platforms: every manifest the source signatures cover travels (the far side verifies the index as it was signed),
    // the blobs and attachments of the chosen platforms only, and the subset index that lands
    const graph = p.platforms ? await selectPlatforms(whole, p.platforms) : whole;
    for (const m of [...whole.manifests, graph.top]) content.set(layoutBlobPath('oci', m.digest), m.bytes);
    for (const b of graph.blobs) {
      if (!job.full && known.has(b.digest)) {
        leftOut++;
        continue;
      }
      blobs.set(layoutBlobPath('oci', b.digest), { source, digest: b.digest, size: b.size });
    }
    images.push({
      mediaType: graph.top.mediaType,
      digest: graph.top.digest,
      size: graph.top.bytes.length,
      annotations: {
        'org.opencontainers.image.ref.name': `${dst.repository}:${dst.tag ?? 'latest'}`,
        'io.airlock.promotion': p.promotionId,
      },
    });
    // what is attached to each manifest travels too (docs/formats.md, "Attachments"): its manifest and blobs in the layout, listed in bundle.json
    const carry = async (
      subject: string,
      kind: BundleAttachment['kind'],
      m: ManifestBlob,
      extra: Pick<BundleAttachment, 'artifactType' | 'annotations'> = {},
    ) => {
      const g = await walkImage(source, m.digest, m);
      content.set(layoutBlobPath('oci', m.digest), m.bytes);
      for (const b of g.blobs) {
        if (!job.full && known.has(b.digest)) continue;
        blobs.set(layoutBlobPath('oci', b.digest), { source, digest: b.digest, size: b.size });
      }
      attachments.push({ subject, kind, manifest: m.digest, mediaType: m.mediaType, size: m.bytes.length, ...extra });
    };
    for (const d of manifestDigests(graph)) {
      const { present, referrers } = await lookupAttachments(source, d);
      for (const [i, kind] of ATTACHMENT_KINDS.entries())
        if (present[i]) await carry(d, kind, await source.client.getManifest(src.repository, attachmentTag(d, kind)));
      for (const r of referrers.descs)
        await carry(d, 'referrer', await source.getManifest(r.digest), {
          ...(r.artifactType ? { artifactType: r.artifactType } : {}),
          ...(r.annotations ? { annotations: r.annotations } : {}),
        });
    }
    // the source signatures of both dialects: the lookaside's, and the sigstore ones in the registry (keyed ones; a keyless or unreadable one is left behind)
    const sigstore = new RegistrySigstoreStore(deps.registries.client(src.registry));
    for (const d of manifestDigests(whole)) {
      const sigs = await from.lookaside.list(src.repository, d);
      sigs.forEach((s, i) => content.set(`signatures/${signaturePath(src.repository, d, i + 1)}`, s));
      const carried = (await sigstore.list(src.repository, d)).filter((s) => !s.problem && s.certificate === undefined);
      carried.forEach((s, i) => content.set(`sigstore/${signaturePath(src.repository, d, i + 1)}`, encodeCarriedSigstore(s)));
    }
  }
  const layout = layoutFiles(images);
  content.set('oci/oci-layout', layout['oci-layout']);
  content.set('oci/index.json', layout['index.json']);
  return { content, blobs, attachments, leftOut };
}

/** Opens an entry's plain bytes from `offset` on: from memory, or from the source registry. */
const opener =
  ({ content, blobs }: Collected) =>
  async (path: string, offset = 0): Promise<Readable> => {
    const b = content.get(path);
    if (b) return Readable.from([b.subarray(offset)]);
    const blob = blobs.get(path) as { source: RegistryRepository; digest: string; size: number };
    return skip((await blob.source.openBlob(blob.digest)).body, offset);
  };

/** The channel's keys for writing: the sender's, and the recipients' when it encrypts. */
async function sealingKeys(ch: ReturnType<typeof channelOf>) {
  const recipients = ch.config.encrypt ? await ch.recipients() : [];
  if (ch.config.encrypt && !recipients.length) throw new AirlockError('KEY_MISSING', `channel ${ch.name} encrypts but names no recipients`);
  return { signingKey: await ch.senderKey(), encryptTo: ch.config.encrypt ? recipients : undefined };
}

/**
 * Writes the bundle an export job planned, with no database: what `collect`
 * reads, and the index (format 2) or bundle.json (format 1), signed by the
 * channel's sender key and encrypted to its recipients, into volumes. Runs
 * in a worker or in the CLI's process alike.
 */
export async function writeExport(
  job: ExportJob,
  deps: { catalog: StageCatalog; registries: Registries; onProgress?(p: ExportProgress): void },
): Promise<ExportWritten> {
  const ch = channelOf(deps.catalog, job.channel);
  const keys = await sealingKeys(ch);
  const senderKey = keys.signingKey;
  const collected = await collect(job, deps);
  const { content, blobs, attachments, leftOut } = collected;
  const entries: PlannedEntry[] = [
    ...[...content].map(([name, b]) => ({ path: name, role: roleOf(name), size: b.length, sha256: sha256(b) })),
    ...[...blobs]
      .filter(([name]) => !content.has(name))
      .map(([name, b]) => ({ path: name, role: 'blob' as const, size: b.size, sha256: b.digest.slice(7) })),
  ];
  const header = {
    id: job.bundleId,
    channel: ch.name,
    source: ch.config.from,
    target: ch.config.to,
    sequence: job.sequence,
    created: job.created,
    expires: job.expires,
    sender: senderKey.getFingerprint().toUpperCase(),
    full: job.full,
    images: job.images,
    ...(attachments.length ? { attachments } : {}),
  };
  const total = entries.reduce((a, e) => a + e.size, 0);
  let done = 0;
  let reported = 0;
  const onProgress = (n: number) => {
    done += n;
    if (done > total / 2) faultPoint('export:mid-bundle');
    // at most one report per 16 MiB or at the end (each is a round trip for a worker)
    if (done - reported >= 16 << 20 || done === total) {
      reported = done;
      deps.onProgress?.({ bytesDone: done, bytesTotal: total });
    }
  };
  const open = opener(collected);
  const common = { outDir: job.outDir, maxVolumeBytes: ch.config.volumeSizeMiB * 2 ** 20, ...keys, onProgress };
  if (ch.config.bundleFormat === 1) {
    const manifest: BundleManifest = {
      format: BUNDLE_FORMAT,
      ...header,
      entries: entries.map((e) => ({ name: e.path, size: e.size, sha256: e.sha256 })),
    };
    const written = await writeBundle({ ...common, manifest, open: (e) => open(e.name) });
    return {
      dir: job.outDir,
      volumes: written.volumes,
      indexFile: written.indexFile,
      bytes: written.bytes,
      blobsLeftOut: leftOut,
      manifest,
    };
  }
  const written = await writeBundle2({ ...common, header, entries, open: (e, offset) => open(e.path, offset) });
  return {
    dir: job.outDir,
    volumes: written.volumes,
    indexFile: written.indexFile,
    bytes: written.bytes,
    blobsLeftOut: leftOut,
    manifest: manifestOfIndex(written.index),
  };
}

/** What an entry held in memory is, by its place: a signature of either dialect, a file of the layout, or a manifest. */
function roleOf(path: string): EntryRole {
  if (path.startsWith('signatures/')) return 'signature';
  if (path.startsWith('sigstore/')) return 'sigstore';
  if (path === 'oci/oci-layout' || path === 'oci/index.json') return 'layout';
  return 'manifest';
}

/** A stream from its `offset`-th byte on (a blob part after the first: registries are read from the start). */
async function* skipping(src: Readable, offset: number): AsyncGenerator<Buffer> {
  let left = offset;
  for await (const c of src) {
    const b = c as Buffer;
    if (left >= b.length) {
      left -= b.length;
      continue;
    }
    yield left ? b.subarray(left) : b;
    left = 0;
  }
}
const skip = (src: Readable, offset: number): Readable => (offset ? Readable.from(skipping(src, offset)) : src);

/**
 * Writes again the named volumes of a format-2 bundle this job wrote (lost
 * or damaged media): the same index and entries, read from the source again
 * and sealed anew. An entry whose bytes changed at the source since is
 * BUNDLE_DIGEST_MISMATCH, and nothing is written under a final name.
 */
export async function rewriteExportVolumes(
  job: ExportJob,
  volumes: number[],
  deps: { catalog: StageCatalog; registries: Registries },
): Promise<Pick<ExportWritten, 'dir' | 'volumes' | 'bytes'>> {
  const ch = channelOf(deps.catalog, job.channel);
  const keys = await sealingKeys(ch);
  const open = opener(await collect(job, deps));
  const written = await rewriteVolumes({
    channel: ch.name,
    sequence: job.sequence,
    volumes,
    outDir: job.outDir,
    maxVolumeBytes: ch.config.volumeSizeMiB * 2 ** 20,
    ...keys,
    open: (e, offset) => open(e.path, offset),
  });
  return { dir: job.outDir, volumes: written.volumes, bytes: written.bytes };
}
