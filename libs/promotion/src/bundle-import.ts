import { mkdtempSync, promises as fs, readdirSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { AirlockError, faultPoint, isAirlockError, markAudited, processAlive } from '@airlock/common';
import { AuditLog } from '@airlock/audit';
import { Db } from '@airlock/database';
import { CopyEngine, ImageReference, ManifestBlob, OciLayout, Registries, RegistryRepository, formatReference, manifestDigests, parseReference, putAttachment, putReferrers, walkImage } from '@airlock/oci';
import { CarriedSigstoreStore, FileLookasideStore, IdentityRule } from '@airlock/signing';
import { BundleAttachment, BundleManifest, VolumeIndex, checkVolumes, openBundle } from '@airlock/bundle';
import { StageCatalog } from './stage-catalog';
import { RegistrySigstoreStore } from './sigstore-tag-store';
import { Channel, channelOf } from './channels';
import { ChannelLock } from './channel-lock';
import { BundleStore, bundleContent } from './bundle-store';
import { BundleJobStore, BundleJobView, abandoned, localRunner } from './bundle-job-store';
import { mapReference } from './repository-mapping';
import { PreparedSignatures, VerifiedImage, prepareSignatures, publishSignatures, verifySignedImage, keysOf } from './image-pipeline';
import { PromotionStore } from './promotion-store';
import { PromotionService } from './promotion.service';
import { signReceipt } from './bundle-receipt';
import { Ctx } from './promotion.service';

export interface ImportResult {
  bundleId: string;
  channel: string;
  sequence: number;
  images: { promotionId: string; target: string; digest: string }[];
  receipt: string;
  alreadyImported: boolean;
}

/** How far a bundle's creation time may lie ahead of this side's clock. */
export const CLOCK_SKEW_MS = 5 * 60_000;

interface Opened {
  ch: Channel;
  manifest: BundleManifest;
  staging: string;
  sender: string;
}

/** One image of a bundle, every check done: where it goes and what it is made of. */
interface CheckedImage {
  image: BundleManifest['images'][number];
  dst: ImageReference;
  verified: VerifiedImage;
  /** What the bundle carried attached to this image's manifests, each manifest read (digest-checked) from the layout. */
  attachments: { att: BundleAttachment; manifest: ManifestBlob }[];
}

/** What the checks found: a bundle imported before (nothing to do), or the images to land. */
interface Plan {
  again: boolean;
  images: CheckedImage[];
}

/**
 * The high side's import. Every check of every image comes first, with
 * nothing written outside a fresh staging folder: the volumes, the sender
 * signature, the channel and its sequence (replays, rollbacks, expiry,
 * creation time, lifetime), the mapping of every image, every manifest
 * against its digest, every blob present (staged, or already in the
 * registry) and of its size, and the source stage signature of every
 * manifest, read from the staged bytes. Only then: push blobs and manifests
 * by digest, re-read what the registry serves, sign and publish with this
 * side's key, tag, and record it all and advance the channel in one
 * transaction. One import of a channel runs at a time (ChannelLock). A
 * bundle that was imported already changes nothing: it is reported, and
 * its receipt written again. A re-run after a crash finishes the job; every
 * step before the commit is idempotent.
 */
export class BundleImporter {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditLog,
    private readonly catalog: StageCatalog,
    private readonly registries: Registries,
    private readonly service: PromotionService,
  ) {
    this.bundles = new BundleStore(db);
    this.jobs = new BundleJobStore(db);
  }

  private readonly bundles: BundleStore;
  private readonly jobs: BundleJobStore;

  private stagingRoot(): string {
    const l = this.catalog.loaded;
    const root = join(dirname(l.resolvePath(l.config.database)), 'staging');
    mkdirSync(root, { recursive: true });
    // staging folders of imports whose process died (a crash, kill -9) are thrown away
    for (const d of readdirSync(root)) {
      const m = /^import-(\d+)-/.exec(d);
      if (m && Number(m[1]) !== process.pid && !processAlive(Number(m[1]))) rmSync(join(root, d), { recursive: true, force: true });
    }
    return root;
  }

  /** Verifies and extracts into staging; the caller removes `staging`. */
  private async open(ch: Channel, files: string[], volumes: string[], index: Awaited<ReturnType<typeof checkVolumes>>['index'], onProgress?: (bytes: number, total: number) => void): Promise<Opened> {
    const trusted = await ch.trustedSenders();
    if (!trusted.length) throw new AirlockError('KEY_MISSING', `channel ${ch.name} pins no sender key (trustedSenders); refusing every bundle`);
    const decryptionKeys = [await ch.importKey()];
    const staging = mkdtempSync(join(this.stagingRoot(), `import-${process.pid}-`));
    try {
      const { manifest, senderFingerprint } = await openBundle(volumes, index, { staging: join(staging, 'x'), trustedSenders: trusted, decryptionKeys, requireEncrypted: ch.config.encrypt, onProgress });
      if (manifest.channel !== ch.name || manifest.source !== ch.config.from || manifest.target !== ch.config.to) throw new AirlockError('BUNDLE_INVALID', `bundle is for ${manifest.channel} (${manifest.source} -> ${manifest.target}), not this channel`);
      if (manifest.id !== index.id || manifest.sequence !== index.sequence || manifest.channel !== index.channel) throw new AirlockError('BUNDLE_INVALID', 'the volume index names another bundle than the signed bundle.json');
      if (manifest.sender !== senderFingerprint) throw new AirlockError('BUNDLE_INVALID', 'bundle.json names another sender than the key that signed it');
      return { ch, manifest, staging, sender: senderFingerprint };
    } catch (e) {
      await fs.rm(staging, { recursive: true, force: true });
      throw e;
    }
  }

  /** Sequence, expiry and times; returns true when this very bundle was imported already (and then nothing may change). */
  private checkFreshness(ch: Channel, m: BundleManifest): boolean {
    const now = Date.now();
    const created = Date.parse(m.created);
    const expires = Date.parse(m.expires);
    if (expires < now) throw new AirlockError('BUNDLE_EXPIRED', `bundle expired at ${m.expires}`);
    if (created > now + CLOCK_SKEW_MS) throw new AirlockError('BUNDLE_NOT_YET_VALID', `bundle was created at ${m.created}, later than this side's clock allows (${new Date(now).toISOString()}, ${CLOCK_SKEW_MS / 60_000} min of skew)`);
    if (expires <= created) throw new AirlockError('BUNDLE_INVALID', `bundle expires (${m.expires}) before it was created (${m.created})`);
    if (expires - created > ch.config.lifetimeHours * 3_600_000) throw new AirlockError('BUNDLE_LIFETIME_TOO_LONG', `bundle is valid for ${((expires - created) / 3_600_000).toFixed(1)} h, longer than the ${ch.config.lifetimeHours} h channel ${ch.name} allows (lifetimeHours)`);
    const byId = this.bundles.byId(m.id, 'import');
    if (byId && (byId.channel !== ch.name || byId.sequence !== m.sequence || byId.content !== bundleContent(m))) throw new AirlockError('BUNDLE_REPLAY', `bundle ${m.id} was already imported as sequence ${byId.sequence} of channel ${byId.channel}, with other content`);
    if (byId) return true;
    if (this.bundles.bySequence(ch.name, 'import', m.sequence)) throw new AirlockError('BUNDLE_REPLAY', `sequence ${m.sequence} of channel ${ch.name} was already imported with other content`);
    const last = this.bundles.lastSequence(ch.name, 'import');
    if (m.sequence <= last) throw new AirlockError('BUNDLE_REPLAY', `bundle sequence ${m.sequence} is not newer than ${last}, the last imported on channel ${ch.name}`);
    return false;
  }

  /**
   * Every check an import makes before it writes outside staging: freshness,
   * then for each image its mapping, its manifests and blobs, and the source
   * stage signature of each manifest (top level and every level below).
   */
  private async check(o: Opened): Promise<Plan> {
    const { ch, manifest: m } = o;
    if (this.checkFreshness(ch, m)) return { again: true, images: [] };
    const to = this.catalog.get(ch.config.to);
    const arrival = to.config.from.find((f) => f.stage === ch.config.from);
    if (!arrival) throw new AirlockError('PROMOTION_ROUTE_UNKNOWN', `stage ${to.name} does not accept images from ${ch.config.from}`);
    const trust = await this.catalog.trustFor(to.name, ch.config.from);
    const layout = new OciLayout(join(o.staging, 'x', 'oci'));
    const carried = new FileLookasideStore(join(o.staging, 'x', 'signatures'));
    const carriedSigstore = new CarriedSigstoreStore(join(o.staging, 'x', 'sigstore'));
    const targets = new Set<string>();
    const images: CheckedImage[] = [];
    for (const img of m.images) {
      const src = parseReference(img.source, { defaultTag: false });
      const dst = parseReference(img.target, { defaultTag: false });
      const mapped = mapReference(src, arrival.mapping);
      if (!mapped || formatReference(mapped) !== formatReference(dst)) throw new AirlockError('BUNDLE_INVALID', `${img.target} is not where this side maps ${img.source}`);
      if (targets.has(img.target)) throw new AirlockError('BUNDLE_INVALID', `the bundle lists ${img.target} twice`);
      targets.add(img.target);
      const policy = { trustedKeys: trust.openpgp, sigstoreKeys: trust.sigstore, sigstoreStore: carriedSigstore, identityRule: arrival.identityRule as IdentityRule, reference: img.source, repository: src.repository, store: carried, signer: `stage ${ch.config.from} (carried in the bundle)` };
      let verified: VerifiedImage;
      try {
        verified = await verifySignedImage(layout, img.digest, policy);
      } catch (e) {
        if (isAirlockError(e) && e.code === 'BLOB_UNKNOWN') throw new AirlockError('BUNDLE_INCOMPLETE', `the bundle does not carry ${img.target}: ${e.message}`);
        if (isAirlockError(e) && e.code === 'BLOB_DIGEST_MISMATCH') throw new AirlockError('BUNDLE_DIGEST_MISMATCH', `${img.target}: ${e.message}`);
        throw e;
      }
      const graph = verified.graph;
      if (graph.top.mediaType !== img.mediaType) throw new AirlockError('BUNDLE_INVALID', `bundle.json says ${img.target} is ${img.mediaType}, its manifest is ${graph.top.mediaType}`);
      // a blob the bundle leaves out must be one the registry holds already (incremental bundles)
      const client = this.registries.client(dst.registry);
      for (const b of graph.blobs) {
        let inBundle: boolean;
        try {
          inBundle = await layout.hasBlob(b);
        } catch (e) {
          throw new AirlockError('BUNDLE_DIGEST_MISMATCH', `${img.target}: ${(e as Error).message}`);
        }
        if (!inBundle && !(await client.hasBlob(dst.repository, b.digest))) throw new AirlockError('BUNDLE_INCOMPLETE', `blob ${b.digest} of ${img.target} is neither in the bundle nor in ${dst.registry}/${dst.repository}`);
      }
      // its attachments: for one of its manifests, each manifest in the layout under its digest, each blob carried or in the registry
      const subjects = new Set(manifestDigests(graph));
      const attachments: CheckedImage['attachments'] = [];
      for (const att of (m.attachments ?? []).filter((a) => subjects.has(a.subject))) {
        let manifest: ManifestBlob;
        let blobs: { digest: string; size: number; mediaType: string }[];
        try {
          manifest = await layout.getManifest(att.manifest);
          blobs = (await walkImage(layout, att.manifest, manifest)).blobs;
        } catch (e) {
          if (isAirlockError(e) && (e.code === 'BLOB_UNKNOWN' || e.code === 'MANIFEST_UNKNOWN')) throw new AirlockError('BUNDLE_INCOMPLETE', `the bundle lists an attachment (${att.kind}) of ${img.target} it does not carry: ${e.message}`);
          if (isAirlockError(e) && e.code === 'BLOB_DIGEST_MISMATCH') throw new AirlockError('BUNDLE_DIGEST_MISMATCH', `${img.target}: ${e.message}`);
          throw e;
        }
        if (manifest.mediaType !== att.mediaType || manifest.bytes.length !== att.size) throw new AirlockError('BUNDLE_INVALID', `bundle.json describes attachment ${att.manifest} of ${img.target} otherwise than its manifest`);
        for (const b of blobs) if (!(await layout.hasBlob(b)) && !(await client.hasBlob(dst.repository, b.digest))) throw new AirlockError('BUNDLE_INCOMPLETE', `blob ${b.digest} of an attachment of ${img.target} is neither in the bundle nor in ${dst.registry}/${dst.repository}`);
        attachments.push({ att, manifest });
      }
      images.push({ image: img, dst, verified, attachments });
    }
    const listed = new Set(images.flatMap((c) => manifestDigests(c.verified.graph)));
    const stray = (m.attachments ?? []).find((a) => !listed.has(a.subject));
    if (stray) throw new AirlockError('BUNDLE_INVALID', `bundle.json lists an attachment of ${stray.subject}, which is none of the bundle's images`);
    return { again: false, images };
  }

  /**
   * Every check the import makes, without the claim and without writing to
   * a registry: every refusal is reported (`problem`), from the sender to the
   * last image's signatures. Only a bundle whose volume index cannot be read
   * at all is an error; before the sender is verified, what it names comes
   * from the unsigned volume index, and `manifest` is absent.
   */
  async inspect(files: string[]): Promise<{ index: VolumeIndex; manifest?: BundleManifest; wouldImport: boolean; alreadyImported?: boolean; problem?: { code: string; message: string } }> {
    const { index, volumes } = await checkVolumes(files, { hash: false });
    let opened: Opened;
    try {
      opened = await this.open(channelOf(this.catalog, index.channel), files, volumes, index);
    } catch (e) {
      if (!isAirlockError(e)) throw e;
      return { index, wouldImport: false, problem: { code: e.code, message: e.message } };
    }
    try {
      const plan = await this.check(opened);
      return { index, manifest: opened.manifest, wouldImport: !plan.again, alreadyImported: plan.again, ...(plan.again ? { problem: { code: 'BUNDLE_REPLAY', message: 'this bundle was imported already; importing it again changes nothing' } } : {}) };
    } catch (e) {
      if (!isAirlockError(e)) throw e;
      return { index, manifest: opened.manifest, wouldImport: false, problem: { code: e.code, message: e.message } };
    } finally {
      await fs.rm(opened.staging, { recursive: true, force: true });
    }
  }

  /**
   * Imports as a job of this process (the API: it owns the database the
   * import checks and records into, so a worker cannot run it): answers at
   * once with the job, which GET /api/v1/bundle-jobs/:id and its events
   * follow. One import job per channel at a time (BUNDLE_IMPORT_BUSY); a job
   * whose process died frees the channel. `cleanup` runs when it ends.
   */
  async start(ctx: Ctx, files: string[], o: { cleanup?(): Promise<void> } = {}): Promise<BundleJobView> {
    let job: { jobId: string; channel: string };
    try {
      const { index } = await checkVolumes(files, { hash: false });
      const ch = channelOf(this.catalog, index.channel);
      job = { jobId: randomUUID(), channel: ch.name };
      this.db
        .transaction(() => {
          const active = this.jobs.active(ch.name, 'import');
          if (active && !abandoned(active)) throw new AirlockError('BUNDLE_IMPORT_BUSY', `another import of channel ${ch.name} is running (sequence ${active.sequence}, started by ${active.requested_by} at ${active.created_at}); try again when it has finished`);
          if (active) this.jobs.finish(active.id, { state: 'failed', code: 'INTERNAL', message: `the process that ran it (${active.runner}) is gone` });
          this.jobs.insertImport({ jobId: job.jobId, channel: ch.name, sequence: index.sequence, bundleId: index.id, files: files.map((f) => basename(f)), runner: localRunner(), requestedBy: ctx.principal.user, requestId: ctx.requestId });
        })
        .immediate();
    } catch (e) {
      await o.cleanup?.();
      if (isAirlockError(e)) {
        this.audit.append({ actor: ctx.principal.user, role: ctx.principal.roles[0], action: 'bundle.import.refused', requestId: ctx.requestId, details: { code: e.code, message: e.message, bundleId: null, files: files.map((f) => basename(f)) } });
        markAudited(e);
      }
      throw e;
    }
    void (async () => {
      try {
        const r = await this.import(ctx, files, { onProgress: (done, total) => this.jobs.progress(job.jobId, done, total) });
        this.jobs.finish(job.jobId, { state: 'completed', result: r, bytes: 0 });
      } catch (e) {
        this.jobs.finish(job.jobId, { state: 'failed', code: isAirlockError(e) ? e.code : 'INTERNAL', message: (e as Error).message ?? String(e) });
      } finally {
        await o.cleanup?.().catch(() => undefined);
      }
    })();
    return this.jobs.view(job.jobId);
  }

  async import(ctx: Ctx, files: string[], o: { receiptDir?: string; onProgress?(bytes: number, total: number): void } = {}): Promise<ImportResult> {
    let opened: Opened | undefined;
    let lock: ChannelLock | undefined;
    try {
      // presence and sizes now; every volume's SHA-256 on the one pass that decrypts and extracts
      const { index, volumes } = await checkVolumes(files, { hash: false });
      const ch = channelOf(this.catalog, index.channel);
      lock = ChannelLock.acquire(this.db, ch.name, 'import');
      const started = new Date().toISOString();
      opened = await this.open(ch, files, volumes, index, o.onProgress);
      const plan = await this.check(opened);
      faultPoint('import:checked');
      if (!plan.again) await this.land(ctx, opened, plan, { started, finished: new Date().toISOString() });
      faultPoint('import:committed');
      return await this.writeReceipt(ctx, opened, plan, o.receiptDir);
    } catch (e) {
      if (isAirlockError(e)) {
        this.audit.append({ actor: ctx.principal.user, role: ctx.principal.roles[0], action: 'bundle.import.refused', requestId: ctx.requestId, details: { code: e.code, message: e.message, bundleId: opened?.manifest.id ?? null, files: files.map((f) => f.split('/').pop()) } });
        markAudited(e);
      }
      throw e;
    } finally {
      if (opened) await fs.rm(opened.staging, { recursive: true, force: true });
      lock?.release();
    }
  }

  /**
   * Every image is checked: push by digest, re-read what landed, sign and
   * publish, tag, then record it all in one transaction: each promotion
   * created as requested, approved by the approvals it carries, and moved
   * by `arrive` to imported, with the import's own steps and their times.
   */
  private async land(ctx: Ctx, o: Opened, plan: Plan, stagedAt: { started: string; finished: string }): Promise<void> {
    const { ch, manifest: m } = o;
    const to = this.catalog.get(ch.config.to);
    const layout = new OciLayout(join(o.staging, 'x', 'oci'));
    const engine = new CopyEngine(this.registries);
    const times = { verify: { started: stagedAt.started, finished: stagedAt.finished }, copy: { started: new Date().toISOString(), finished: '' }, sign: { started: '', finished: '' }, publish: { started: '', finished: '' } };
    // by digest only: the tag comes after the signature is published
    const copied = new Map<string, Awaited<ReturnType<CopyEngine['copy']>>>();
    for (const c of plan.images) copied.set(c.image.promotionId, await engine.copy(layout, new RegistryRepository(this.registries.client(c.dst.registry), c.dst.repository), { top: c.verified.graph.top }));
    faultPoint('import:pushed');
    // what the registry now serves is what was checked (getManifest refuses bytes of another digest)
    for (const c of plan.images) {
      const client = this.registries.client(c.dst.registry);
      for (const x of c.verified.graph.manifests) await client.getManifest(c.dst.repository, x.digest);
      for (const b of c.verified.graph.blobs) if (!(await client.hasBlob(c.dst.repository, b.digest))) throw new AirlockError('BLOB_UNKNOWN', `blob ${b.digest} of ${c.image.target} is not in the registry after the push`);
    }
    // what the bundle carried attached to each image, beside it, before anything is signed (the stage's own signature then joins the .sig)
    for (const c of plan.images) {
      const dest = new RegistryRepository(this.registries.client(c.dst.registry), c.dst.repository);
      for (const { att, manifest } of c.attachments) {
        if (att.kind === 'referrer') await putReferrers(engine, layout, dest, att.subject, [{ mediaType: att.mediaType, digest: att.manifest, size: att.size, ...(att.artifactType ? { artifactType: att.artifactType } : {}), ...(att.annotations ? { annotations: att.annotations } : {}) }]);
        else await putAttachment(engine, layout, dest, att.subject, att.kind, manifest);
      }
    }
    faultPoint('import:verified');
    times.copy.finished = times.sign.started = new Date().toISOString();
    const signer = this.catalog.signer(to.name);
    const prepared: PreparedSignatures[] = [];
    for (const c of plan.images) prepared.push(await prepareSignatures(signer, c.dst.repository, manifestDigests(c.verified.graph), formatReference({ ...c.dst, digest: undefined }), new RegistrySigstoreStore(this.registries.client(c.dst.registry))));
    times.sign.finished = times.publish.started = new Date().toISOString();
    const signatures = new Map<string, Awaited<ReturnType<typeof publishSignatures>>>();
    for (const [i, c] of plan.images.entries()) signatures.set(c.image.promotionId, await publishSignatures(signer, prepared[i]));
    faultPoint('import:signed');
    for (const c of plan.images) {
      if (c.dst.tag) await this.registries.client(c.dst.registry).putManifest(c.dst.repository, c.dst.tag, c.verified.graph.top);
    }
    times.publish.finished = new Date().toISOString();
    faultPoint('import:tagged');
    const importer = ctx.principal.user;
    const store = new PromotionStore(this.db);
    faultPoint('import:before-commit');
    this.db
      .transaction(() => {
        // the sequence once more, inside the transaction that advances it
        if (this.checkFreshness(ch, m)) return;
        this.bundles.record('import', m, { volumes: [], bytes: m.entries.reduce((a, e) => a + e.size, 0) });
        for (const c of plan.images) {
          const img = c.image;
          if (store.get(img.promotionId)) continue;
          const now = new Date().toISOString();
          const row = { id: img.promotionId, image: img.source, source_ref: img.source, target_ref: img.target, digest: img.digest, media_type: img.mediaType, from_stage: m.source, to_stage: m.target, reason: img.reason, requester: img.requester, state: 'requested' as const, approvals_required: img.approvals.length, attempt: 1, error_code: null, error_message: null, bytes_done: 0, bytes_total: 0, result: null, created_at: img.requestedAt, updated_at: now, finished_at: null };
          store.insert(row);
          for (const a of img.approvals) store.addApproval({ promotion_id: img.promotionId, approver: a.approver, role: a.role, comment: a.comment, created_at: a.at });
          const copy = copied.get(img.promotionId);
          store.recordStep(img.promotionId, 1, 'verify', times.verify.started, times.verify.finished, { keys: keysOf(c.verified), manifests: c.verified.graph.manifests.length, from: 'bundle' });
          store.recordStep(img.promotionId, 1, 'copy', times.copy.started, times.copy.finished, copy && { bytesMoved: copy.bytesMoved, blobsCopied: copy.blobsCopied, blobsSkipped: copy.blobsSkipped, blobsMounted: copy.blobsMounted });
          store.recordStep(img.promotionId, 1, 'sign', times.sign.started, times.sign.finished, { new: prepared[plan.images.indexOf(c)].fresh });
          store.recordStep(img.promotionId, 1, 'publish', times.publish.started, times.publish.finished, { signatures: signatures.get(img.promotionId) });
          const approved = this.service.transition(ctx, row, 'approve', {}, { approvals: img.approvals.map((a) => a.approver), carriedBy: m.id });
          this.service.transition(ctx, approved, 'arrive', { bytes_done: copy?.bytesMoved ?? 0 }, { bundleId: m.id, channel: ch.name, sequence: m.sequence });
          this.audit.append({ actor: importer, role: ctx.principal.roles[0], action: 'promotion.imported', promotionId: img.promotionId, stage: m.target, image: img.target, digest: img.digest, requestId: ctx.requestId, details: { bundleId: m.id, channel: ch.name, sequence: m.sequence, sender: m.sender, source: img.source, requester: img.requester, requestedAt: img.requestedAt, reason: img.reason, approvals: img.approvals } });
        }
        this.audit.append({ actor: importer, role: ctx.principal.roles[0], action: 'bundle.imported', stage: m.target, requestId: ctx.requestId, details: { bundleId: m.id, channel: ch.name, sequence: m.sequence, images: m.images.length, sender: m.sender } });
      })
      .immediate();
  }

  /** The signed receipt (written again, the same, for a bundle imported before). */
  private async writeReceipt(ctx: Ctx, o: Opened, plan: Plan, receiptDir?: string): Promise<ImportResult> {
    const { ch, manifest: m } = o;
    const blobs = new Set<string>();
    for (const c of plan.images) for (const b of c.verified.graph.blobs) blobs.add(b.digest);
    if (plan.again) {
      // the blobs of a bundle imported before: those its staged manifests name
      const layout = new OciLayout(join(o.staging, 'x', 'oci'));
      for (const img of m.images) for (const b of (await walkImage(layout, img.digest)).blobs) blobs.add(b.digest);
    }
    const receipt = await signReceipt({ bundleId: m.id, channel: ch.name, sequence: m.sequence, importer: ctx.principal.user, time: new Date().toISOString(), images: m.images.map((i) => ({ promotionId: i.promotionId, digest: i.digest, target: i.target })), blobs: [...blobs].sort() }, await ch.importKey());
    const dir = receiptDir ?? ch.dir;
    mkdirSync(dir, { recursive: true });
    const receiptPath = join(dir, `airlock-${ch.name}-${String(m.sequence).padStart(6, '0')}.receipt`);
    writeFileSync(`${receiptPath}.tmp`, receipt);
    await fs.rename(`${receiptPath}.tmp`, receiptPath);
    return { bundleId: m.id, channel: ch.name, sequence: m.sequence, images: m.images.map((i) => ({ promotionId: i.promotionId, target: i.target, digest: i.digest })), receipt: receiptPath, alreadyImported: plan.again };
  }
}
