import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { AirlockError, faultPoint, isAirlockError, markAudited } from '@airlock/common';
import { AuditLog } from '@airlock/audit';
import { Db } from '@airlock/database';
import { LayoutImageEntry, Registries, RegistryRepository, layoutBlobPath, layoutFiles, manifestDigests, parseReference, walkImage } from '@airlock/oci';
import { signaturePath } from '@airlock/signing';
import { BUNDLE_FORMAT, BundleEntry, BundleManifest, writeBundle } from '@airlock/bundle';
import { StageCatalog } from './stage-catalog';
import { channelOf } from './channels';
import { ChannelLock } from './channel-lock';
import { BundleStore } from './bundle-store';
import { nextState } from './promotion-lifecycle';
import { PromotionStore, PromotionRow } from './promotion-store';
import { PromotionService, Ctx } from './promotion.service';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** What an export wrote. */
export interface ExportResult {
  bundleId: string;
  channel: string;
  sequence: number;
  dir: string;
  volumes: { name: string; size: number; sha256: string }[];
  indexFile: string;
  images: number;
  bytes: number;
  blobsLeftOut: number;
}

/**
 * Writes one bundle holding every promotion waiting on a channel: the images
 * as an OCI layout (blobs the far side confirmed by receipt left out unless
 * `full`), their source signatures, and bundle.json with the promotion
 * records. One export per channel at a time, across processes (ChannelLock:
 * the loser is BUNDLE_EXPORT_BUSY and writes nothing); the sequence is
 * taken under that claim and recorded only when the bundle is complete on
 * disk.
 */
export class BundleExporter {
  private readonly store: PromotionStore;
  private readonly bundles: BundleStore;

  constructor(
    private readonly db: Db,
    private readonly audit: AuditLog,
    private readonly catalog: StageCatalog,
    private readonly registries: Registries,
    private readonly service: PromotionService,
  ) {
    this.store = new PromotionStore(db);
    this.bundles = new BundleStore(db);
  }

  async export(ctx: Ctx, channelName: string, o: { full?: boolean; outDir?: string; onProgress?: (done: number, total: number) => void } = {}): Promise<ExportResult> {
    try {
      const ch = channelOf(this.catalog, channelName);
      // the sequence is this run's from here on: no other process exports on the channel until it is done
      const lock = ChannelLock.acquire(this.db, ch.name, 'export');
      try {
        return await this.run(ctx, ch.name, o);
      } finally {
        lock.release();
      }
    } catch (e) {
      if (isAirlockError(e)) {
        this.audit.append({ actor: ctx.principal.user, role: ctx.principal.roles[0], action: 'bundle.export.failed', requestId: ctx.requestId, details: { channel: channelName, code: e.code, message: e.message } });
        markAudited(e);
      }
      throw e;
    }
  }

  private async run(ctx: Ctx, channelName: string, o: { full?: boolean; outDir?: string; onProgress?: (done: number, total: number) => void }): Promise<ExportResult> {
    const ch = channelOf(this.catalog, channelName);
    const from = this.catalog.get(ch.config.from);
    const to = this.catalog.get(ch.config.to);
    if (to.config.transport !== 'bundle') throw new AirlockError('CONFIG_INVALID', `channel ${ch.name}: stage ${to.name} is not a bundle stage`);
    const waiting = this.store.waitingForExport(from.name, to.name);
    if (!waiting.length) throw new AirlockError('BUNDLE_NOTHING_TO_EXPORT', `no verified promotion is waiting on channel ${ch.name}`);
    const recipients = ch.config.encrypt ? await ch.recipients() : [];
    if (ch.config.encrypt && !recipients.length) throw new AirlockError('KEY_MISSING', `channel ${ch.name} encrypts but names no recipients`);
    const senderKey = await ch.senderKey();
    const known = this.bundles.knownBlobs(ch.name);
    const sequence = this.bundles.lastSequence(ch.name, 'export') + 1;

    // collect entries: manifests and blobs from the source registry, signatures from the source lookaside
    const content = new Map<string, Buffer>();
    const blobs = new Map<string, { source: RegistryRepository; digest: string; size: number }>();
    const images: LayoutImageEntry[] = [];
    let leftOut = 0;
    for (const p of waiting) {
      const src = parseReference(p.source_ref, { defaultTag: false });
      const dst = parseReference(p.target_ref, { defaultTag: false });
      const source = new RegistryRepository(this.registries.client(src.registry), src.repository);
      const graph = await walkImage(source, p.digest);
      for (const m of graph.manifests) content.set(layoutBlobPath('oci', m.digest), m.bytes);
      for (const b of graph.blobs) {
        if (!o.full && known.has(b.digest)) {
          leftOut++;
          continue;
        }
        blobs.set(layoutBlobPath('oci', b.digest), { source, digest: b.digest, size: b.size });
      }
      images.push({ mediaType: graph.top.mediaType, digest: p.digest, size: graph.top.bytes.length, annotations: { 'org.opencontainers.image.ref.name': `${dst.repository}:${dst.tag ?? 'latest'}`, 'io.airlock.promotion': p.id } });
      for (const d of manifestDigests(graph)) {
        const sigs = await from.lookaside.list(src.repository, d);
        sigs.forEach((s, i) => content.set(`signatures/${signaturePath(src.repository, d, i + 1)}`, s));
      }
    }
    const layout = layoutFiles(images);
    content.set('oci/oci-layout', layout['oci-layout']);
    content.set('oci/index.json', layout['index.json']);
    const entries: BundleEntry[] = [
      ...[...content].map(([name, b]) => ({ name, size: b.length, sha256: sha256(b) })),
      ...[...blobs].filter(([name]) => !content.has(name)).map(([name, b]) => ({ name, size: b.size, sha256: b.digest.slice(7) })),
    ];
    const now = new Date();
    const manifest: BundleManifest = {
      format: BUNDLE_FORMAT,
      id: randomUUID(),
      channel: ch.name,
      source: from.name,
      target: to.name,
      sequence,
      created: now.toISOString(),
      expires: new Date(now.getTime() + ch.config.lifetimeHours * 3600_000).toISOString(),
      sender: senderKey.getFingerprint().toUpperCase(),
      full: !!o.full,
      images: waiting.map((p) => ({
        promotionId: p.id,
        source: p.source_ref,
        target: p.target_ref,
        digest: p.digest,
        mediaType: p.media_type,
        requester: p.requester,
        reason: p.reason,
        requestedAt: p.created_at,
        approvals: this.store.approvals(p.id).map((a) => ({ approver: a.approver, role: a.role, comment: a.comment, at: a.created_at })),
      })),
      entries,
    };
    const total = entries.reduce((a, e) => a + e.size, 0);
    let done = 0;
    const outDir = o.outDir ?? ch.dir;
    const written = await writeBundle({
      manifest,
      outDir,
      maxVolumeBytes: ch.config.volumeSizeMiB * 2 ** 20,
      signingKey: senderKey,
      encryptTo: ch.config.encrypt ? recipients : undefined,
      onProgress: (n) => {
        done += n;
        if (done > total / 2) faultPoint('export:mid-bundle');
        o.onProgress?.(done, total);
      },
      open: async (e) => {
        const b = content.get(e.name);
        if (b) return Readable.from([b]);
        const blob = blobs.get(e.name) as { source: RegistryRepository; digest: string; size: number };
        return (await blob.source.openBlob(blob.digest)).body;
      },
    });
    this.db
      .transaction(() => {
        this.bundles.record('export', manifest, { volumes: written.volumes, bytes: written.bytes });
        this.audit.append({ actor: ctx.principal.user, role: ctx.principal.roles[0], action: 'bundle.exported', stage: to.name, requestId: ctx.requestId, details: { bundleId: manifest.id, channel: ch.name, sequence, volumes: written.volumes.length, bytes: written.bytes, images: manifest.images.length, full: manifest.full, blobsLeftOut: leftOut } });
        for (const p of waiting) {
          const cur = this.store.get(p.id) as PromotionRow;
          if (nextState(cur.state, 'export')) this.service.transition(ctx, cur, 'export', {}, { bundleId: manifest.id, sequence });
        }
      })
      .immediate();
    return { bundleId: manifest.id, channel: ch.name, sequence, dir: outDir, volumes: written.volumes, indexFile: written.indexFile, images: waiting.length, bytes: written.bytes, blobsLeftOut: leftOut };
  }
}
