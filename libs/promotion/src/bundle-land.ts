import { AirlockError, faultPoint } from '@airlock/common';
import { AuditLog } from '@airlock/audit';
import { Db } from '@airlock/database';
import {
  CopyEngine,
  OciLayout,
  Registries,
  RegistryRepository,
  formatReference,
  manifestDigests,
  putAttachment,
  putReferrers,
} from '@airlock/oci';
import { BundleManifest } from '@airlock/bundle';
import { join } from 'node:path';
import { StageCatalog } from './stage-catalog';
import { Channel } from './channels';
import { BundleStore } from './bundle-store';
import { RegistrySigstoreStore } from './sigstore-tag-store';
import { PreparedSignatures, keysOf, prepareSignatures, publishSignatures } from './image-pipeline';
import { PromotionStore } from './promotion-store';
import { Ctx, PromotionService } from './promotion.service';
import { Opened, Plan } from './bundle-import-plan';
import { recordImportedMember } from './release-members';

/** What landing a checked bundle writes to: this side's registries, stores, database and audit trail. */
export interface LandDeps {
  db: Db;
  audit: AuditLog;
  catalog: StageCatalog;
  registries: Registries;
  service: PromotionService;
  bundles: BundleStore;
  /** The bundle's freshness checked again inside the commit: true when it was imported meanwhile (nothing is then recorded). */
  importedAlready(ch: Channel, m: BundleManifest): boolean;
}

/**
 * Every image is checked: push by digest, re-read what landed, sign and
 * publish, tag, then record it all in one transaction: each promotion
 * created as requested, approved by the approvals it carries, and moved
 * by `arrive` to imported, with the import's own steps and their times.
 */
export async function landBundle(
  d: LandDeps,
  ctx: Ctx,
  o: Opened,
  plan: Plan,
  stagedAt: { started: string; finished: string },
): Promise<void> {
  const { ch, manifest: m } = o;
  const to = d.catalog.get(ch.config.to);
  const layout = new OciLayout(join(o.staging, 'x', 'oci'));
  const engine = new CopyEngine(d.registries);
  const times = {
    verify: { started: stagedAt.started, finished: stagedAt.finished },
    copy: { started: new Date().toISOString(), finished: '' },
    sign: { started: '', finished: '' },
    publish: { started: '', finished: '' },
  };
  // format 2: the carried blobs first, each decrypted and checked as it streams into the registry (nothing refers to them yet)
  const pushed = o.carried
    ? await o.carried.push(
        plan.images.map((c) => ({
          dst: new RegistryRepository(d.registries.client(c.dst.registry), c.dst.repository),
          blobs: [...c.verified.graph.blobs, ...c.attachments.flatMap((a) => a.blobs)],
        })),
      )
    : undefined;
  // by digest only: the tag comes after the signature is published
  const copied = new Map<string, Awaited<ReturnType<CopyEngine['copy']>>>();
  for (const c of plan.images)
    copied.set(
      c.image.promotionId,
      await engine.copy(layout, new RegistryRepository(d.registries.client(c.dst.registry), c.dst.repository), {
        top: c.verified.graph.top,
      }),
    );
  faultPoint('import:pushed');
  // what the registry now serves is what was checked (getManifest refuses bytes of another digest)
  for (const c of plan.images) {
    const client = d.registries.client(c.dst.registry);
    for (const x of c.verified.graph.manifests) await client.getManifest(c.dst.repository, x.digest);
    for (const b of c.verified.graph.blobs)
      if (!(await client.hasBlob(c.dst.repository, b.digest)))
        throw new AirlockError('BLOB_UNKNOWN', `blob ${b.digest} of ${c.image.target} is not in the registry after the push`);
  }
  // what the bundle carried attached to each image, beside it, before anything is signed (the stage's own signature then joins the .sig)
  for (const c of plan.images) {
    const dest = new RegistryRepository(d.registries.client(c.dst.registry), c.dst.repository);
    for (const { att, manifest } of c.attachments) {
      if (att.kind === 'referrer')
        await putReferrers(engine, layout, dest, att.subject, [
          {
            mediaType: att.mediaType,
            digest: att.manifest,
            size: att.size,
            ...(att.artifactType ? { artifactType: att.artifactType } : {}),
            ...(att.annotations ? { annotations: att.annotations } : {}),
          },
        ]);
      else await putAttachment(engine, layout, dest, att.subject, att.kind, manifest);
    }
  }
  faultPoint('import:verified');
  times.copy.finished = times.sign.started = new Date().toISOString();
  const signer = d.catalog.signer(to.name);
  const prepared: PreparedSignatures[] = [];
  for (const c of plan.images)
    prepared.push(
      await prepareSignatures(
        signer,
        c.dst.repository,
        manifestDigests(c.verified.graph),
        formatReference({ ...c.dst, digest: undefined }),
        new RegistrySigstoreStore(d.registries.client(c.dst.registry)),
      ),
    );
  times.sign.finished = times.publish.started = new Date().toISOString();
  const signatures = new Map<string, Awaited<ReturnType<typeof publishSignatures>>>();
  for (const [i, c] of plan.images.entries()) signatures.set(c.image.promotionId, await publishSignatures(signer, prepared[i]));
  faultPoint('import:signed');
  for (const c of plan.images) {
    if (c.dst.tag) await d.registries.client(c.dst.registry).putManifest(c.dst.repository, c.dst.tag, c.verified.graph.top);
  }
  times.publish.finished = new Date().toISOString();
  faultPoint('import:tagged');
  const importer = ctx.principal.user;
  const store = new PromotionStore(d.db);
  faultPoint('import:before-commit');
  d.db
    .transaction(() => {
      // the sequence once more, inside the transaction that advances it
      if (d.importedAlready(ch, m)) return;
      // a bundle some of whose images wait for volumes not given is recorded when the last of them lands
      const complete = !plan.waiting.targets.length;
      if (complete) d.bundles.record('import', m, { volumes: [], bytes: m.entries.reduce((a, e) => a + e.size, 0) });
      for (const c of plan.images) {
        const img = c.image;
        if (store.get(img.promotionId)) continue;
        const now = new Date().toISOString();
        const row = {
          id: img.promotionId,
          image: img.source,
          source_ref: img.source,
          target_ref: img.target,
          digest: img.digest,
          media_type: img.mediaType,
          from_stage: m.source,
          to_stage: m.target,
          reason: img.reason,
          requester: img.requester,
          state: 'requested' as const,
          approvals_required: img.approvals.length,
          attempt: 1,
          error_code: null,
          error_message: null,
          bytes_done: 0,
          bytes_total: 0,
          result: null,
          created_at: img.requestedAt,
          updated_at: now,
          finished_at: null,
          platforms: img.platforms ? img.platforms.join(',') : null,
          target_digest: c.verified.graph.top.digest !== img.digest ? c.verified.graph.top.digest : null,
        };
        store.insert(row);
        if (img.release)
          recordImportedMember(d.db, img.release, img.promotionId, {
            from: m.source,
            to: m.target,
            reason: img.reason,
            requester: img.requester,
            requestedAt: img.requestedAt,
          });
        for (const a of img.approvals)
          store.addApproval({ promotion_id: img.promotionId, approver: a.approver, role: a.role, comment: a.comment, created_at: a.at });
        const copy = copied.get(img.promotionId);
        store.recordStep(img.promotionId, 1, 'verify', times.verify.started, times.verify.finished, {
          keys: keysOf(c.verified),
          manifests: c.verified.graph.manifests.length,
          from: 'bundle',
        });
        store.recordStep(
          img.promotionId,
          1,
          'copy',
          times.copy.started,
          times.copy.finished,
          copy && {
            bytesMoved: copy.bytesMoved,
            blobsCopied: copy.blobsCopied,
            blobsSkipped: copy.blobsSkipped,
            blobsMounted: copy.blobsMounted,
            ...(pushed ? { fromVolumes: pushed } : {}),
          },
        );
        store.recordStep(img.promotionId, 1, 'sign', times.sign.started, times.sign.finished, {
          new: prepared[plan.images.indexOf(c)].fresh,
        });
        store.recordStep(img.promotionId, 1, 'publish', times.publish.started, times.publish.finished, {
          signatures: signatures.get(img.promotionId),
        });
        const approved = d.service.transition(
          ctx,
          row,
          'approve',
          {},
          { approvals: img.approvals.map((a) => a.approver), carriedBy: m.id },
        );
        d.service.transition(
          ctx,
          approved,
          'arrive',
          { bytes_done: copy?.bytesMoved ?? 0 },
          { bundleId: m.id, channel: ch.name, sequence: m.sequence },
        );
        d.audit.append({
          actor: importer,
          role: ctx.principal.roles[0],
          action: 'promotion.imported',
          promotionId: img.promotionId,
          stage: m.target,
          image: img.target,
          digest: img.digest,
          requestId: ctx.requestId,
          details: {
            bundleId: m.id,
            channel: ch.name,
            sequence: m.sequence,
            sender: m.sender,
            source: img.source,
            requester: img.requester,
            requestedAt: img.requestedAt,
            reason: img.reason,
            approvals: img.approvals,
            ...(img.platforms ? { platforms: img.platforms, targetDigest: c.verified.graph.top.digest } : {}),
            ...(img.release ? { release: img.release.id } : {}),
          },
        });
      }
      if (complete)
        d.audit.append({
          actor: importer,
          role: ctx.principal.roles[0],
          action: 'bundle.imported',
          stage: m.target,
          requestId: ctx.requestId,
          details: { bundleId: m.id, channel: ch.name, sequence: m.sequence, images: m.images.length, sender: m.sender },
        });
    })
    .immediate();
}
