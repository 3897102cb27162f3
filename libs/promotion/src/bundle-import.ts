import { mkdtempSync, promises as fs, readdirSync, mkdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { AirlockError, faultPoint, isAirlockError, markAudited, processAlive, wasAudited } from '@airlock/common';
import { AuditLog } from '@airlock/audit';
import { Db } from '@airlock/database';
import { Registries } from '@airlock/oci';
import type { PrivateKey } from 'openpgp';
import {
  LocatedBundle,
  OpenedBundle2,
  isZipVolume,
  locateBundle,
  manifestOfIndex,
  openBundle,
  decryptKeyOnThread,
  openBundle2,
  ReadVolumes,
  sortVolumes,
} from '@airlock/bundle';
import { stageSmallEntries, verifyEntries } from './bundle-import-v2';
import { checkBundle, checkFreshness } from './bundle-import-check';
import { ImportResult, InspectResult, Opened } from './bundle-import-plan';
import { LandDeps, landBundle } from './bundle-land';
import { StageCatalog } from './stage-catalog';
import { Channel, channelOf } from './channels';
import { ChannelLock } from './channel-lock';
import { BundleStore } from './bundle-store';
import { BundleJobStore, BundleJobView, abandoned, localRunner } from './bundle-job-store';
import { PromotionService } from './promotion.service';
import { writeImportReceipt } from './import-receipt';
import { Ctx } from './promotion.service';

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

  /** Verifies and extracts into staging (format 2: the index, then the small entries of the volumes given); the caller removes `staging`. */
  private async open(
    ch: Channel,
    located: LocatedBundle,
    onProgress?: (bytes: number, total: number) => void,
    read?: ReadVolumes,
    importKey: Promise<PrivateKey> = ch.importKey(decryptKeyOnThread),
  ): Promise<Opened> {
    importKey.catch(() => undefined); // awaited below, unless the sender keys are refused first
    const trusted = await ch.trustedSenders();
    if (!trusted.length)
      throw new AirlockError('KEY_MISSING', `channel ${ch.name} pins no sender key (trustedSenders); refusing every bundle`);
    const decryptionKeys = [await importKey];
    const staging = mkdtempSync(join(this.stagingRoot(), `import-${process.pid}-`));
    try {
      let opened: Opened;
      if (located.format === 2) {
        const b: OpenedBundle2 = await openBundle2(located.files, {
          trustedSenders: trusted,
          decryptionKeys,
          requireEncrypted: ch.config.encrypt,
          read,
        });
        if (b.index.channel !== located.channel || b.index.sequence !== located.sequence)
          throw new AirlockError('BUNDLE_INVALID', 'the volumes are named for another bundle than the signed index');
        opened = {
          ch,
          manifest: manifestOfIndex(b.index),
          staging,
          sender: b.sender,
          carried: await stageSmallEntries(b, join(staging, 'x')),
        };
      } else {
        const { manifest, senderFingerprint } = await openBundle(located.volumes, located.index, {
          staging: join(staging, 'x'),
          trustedSenders: trusted,
          decryptionKeys,
          requireEncrypted: ch.config.encrypt,
          onProgress,
        });
        if (manifest.id !== located.id || manifest.sequence !== located.sequence || manifest.channel !== located.channel)
          throw new AirlockError('BUNDLE_INVALID', 'the volume index names another bundle than the signed bundle.json');
        opened = { ch, manifest, staging, sender: senderFingerprint };
      }
      const m = opened.manifest;
      if (m.channel !== ch.name || m.source !== ch.config.from || m.target !== ch.config.to)
        throw new AirlockError('BUNDLE_INVALID', `bundle is for ${m.channel} (${m.source} -> ${m.target}), not this channel`);
      if (m.sender !== opened.sender)
        throw new AirlockError(
          'BUNDLE_INVALID',
          `the bundle's ${located.format === 2 ? 'index' : 'bundle.json'} names another sender than the key that signed it`,
        );
      return opened;
    } catch (e) {
      await fs.rm(staging, { recursive: true, force: true });
      throw e;
    }
  }

  /** The import key of the channel a volume's name says, being unlocked on an OpenPGP thread; undefined when the name says no channel of this side. */
  private async earlyImportKey(volume: string): Promise<{ channel: string; key: Promise<PrivateKey> } | undefined> {
    try {
      const { channel } = await locateBundle([volume]);
      const key = channelOf(this.catalog, channel).importKey(decryptKeyOnThread);
      key.catch(() => undefined); // open() awaits it and reports its refusal
      return { channel, key };
    } catch {
      return undefined;
    }
  }

  /**
   * Every check the import makes, without the claim and without writing to
   * a registry: every refusal is reported (`problem`), from the sender to the
   * last image's signatures. Only files that are no bundle at all are an
   * error. Before the sender is verified, what `bundle` names comes from the
   * file names (format 2) or the unsigned volume index (format 1), and
   * `manifest` is absent. A format-2 bundle is read by its central
   * directories and its index only; `verify` also reads every entry of the
   * volumes given through its checks.
   */
  async inspect(files: string[], o: { verify?: boolean } = {}): Promise<InspectResult> {
    // format 2: the bundle of the first volume; volumes that carry another index (or none) are named, not read further
    const zips = files.filter(isZipVolume);
    // the import key unlocks on an OpenPGP thread while the volumes are read here: the channel as the first volume's name says it (open() unlocks it itself otherwise)
    const early = zips.length ? await this.earlyImportKey(zips[0]) : undefined;
    const sorted = zips.length ? await sortVolumes(zips) : { same: files, other: [] };
    const located = await locateBundle(sorted.same.length ? sorted.same : files);
    const bundle: InspectResult['bundle'] = {
      format: located.format,
      channel: located.channel,
      sequence: located.sequence,
      ...(located.format === 1 ? { id: located.id, volumes: located.index.volumes.length, missing: [] } : {}),
      ...(sorted.other.length ? { otherBundles: sorted.other.map((f) => basename(f)) } : {}),
    };
    let opened: Opened;
    try {
      opened = await this.open(
        channelOf(this.catalog, located.channel),
        located,
        undefined,
        sorted.read,
        early?.channel === located.channel ? early.key : undefined,
      );
    } catch (e) {
      if (!isAirlockError(e)) throw e;
      return { bundle, wouldImport: false, problem: { code: e.code, message: e.message } };
    }
    try {
      if (opened.carried)
        Object.assign(bundle, {
          id: opened.manifest.id,
          volumes: opened.carried.bundle.index.volumes,
          missing: opened.carried.bundle.missing,
        });
      if (o.verify && opened.carried) bundle.verifiedBytes = await verifyEntries(opened.carried.bundle);
      const plan = await checkBundle({ catalog: this.catalog, registries: this.registries, bundles: this.bundles }, opened);
      const waiting = plan.waiting.targets.length
        ? {
            problem: {
              code: 'BUNDLE_INCOMPLETE',
              message: `${plan.waiting.targets.join(', ')} wait for volume ${plan.waiting.volumes.join(', ')}, not given; the other images would import`,
            },
          }
        : {};
      return {
        bundle,
        manifest: opened.manifest,
        wouldImport: !plan.again && plan.images.length > 0,
        alreadyImported: plan.again,
        ...(plan.again
          ? { problem: { code: 'BUNDLE_REPLAY', message: 'this bundle was imported already; importing it again changes nothing' } }
          : waiting),
      };
    } catch (e) {
      if (!isAirlockError(e)) throw e;
      return { bundle, manifest: opened.manifest, wouldImport: false, problem: { code: e.code, message: e.message } };
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
      const located = await locateBundle(files);
      const ch = channelOf(this.catalog, located.channel);
      job = { jobId: randomUUID(), channel: ch.name };
      this.db
        .transaction(() => {
          const active = this.jobs.active(ch.name, 'import');
          if (active && !abandoned(active))
            throw new AirlockError(
              'BUNDLE_IMPORT_BUSY',
              `another import of channel ${ch.name} is running (sequence ${active.sequence}, started by ${active.requested_by} at ${active.created_at}); try again when it has finished`,
            );
          if (active)
            this.jobs.finish(active.id, {
              state: 'failed',
              code: 'INTERNAL',
              message: `the process that ran it (${active.runner}) is gone`,
            });
          this.jobs.insertImport({
            jobId: job.jobId,
            channel: ch.name,
            sequence: located.sequence,
            bundleId: located.format === 1 ? located.id : '',
            files: files.map((f) => basename(f)),
            runner: localRunner(),
            requestedBy: ctx.principal.user,
            requestId: ctx.requestId,
          });
        })
        .immediate();
    } catch (e) {
      await o.cleanup?.();
      if (isAirlockError(e)) {
        this.audit.append({
          actor: ctx.principal.user,
          role: ctx.principal.roles[0],
          action: 'bundle.import.refused',
          requestId: ctx.requestId,
          details: { code: e.code, message: e.message, bundleId: null, files: files.map((f) => basename(f)) },
        });
        markAudited(e);
      }
      throw e;
    }
    void (async () => {
      try {
        const r = await this.import(ctx, files, {
          onProgress: (done, total) => this.jobs.progress(job.jobId, done, total),
          onOpened: (bundleId) => this.jobs.identify(job.jobId, bundleId),
        });
        this.jobs.finish(job.jobId, { state: 'completed', result: r, bytes: 0 });
      } catch (e) {
        this.jobs.finish(job.jobId, {
          state: 'failed',
          code: isAirlockError(e) ? e.code : 'INTERNAL',
          message: (e as Error).message ?? String(e),
        });
      } finally {
        await o.cleanup?.().catch(() => undefined);
      }
    })();
    return this.jobs.view(job.jobId);
  }

  async import(
    ctx: Ctx,
    files: string[],
    o: { receiptDir?: string; onProgress?(bytes: number, total: number): void; onOpened?(bundleId: string): void } = {},
  ): Promise<ImportResult> {
    let opened: Opened | undefined;
    let lock: ChannelLock | undefined;
    try {
      // format 1: presence and sizes now, every volume's SHA-256 on the one pass that decrypts and extracts; format 2: the names now, the index first when opened
      const located = await locateBundle(files);
      const ch = channelOf(this.catalog, located.channel);
      lock = ChannelLock.acquire(this.db, ch.name, 'import');
      const started = new Date().toISOString();
      opened = await this.open(ch, located, o.onProgress);
      o.onOpened?.(opened.manifest.id);
      const plan = await checkBundle({ catalog: this.catalog, registries: this.registries, bundles: this.bundles }, opened);
      faultPoint('import:checked');
      if (!plan.again && plan.images.length)
        await landBundle(this.landDeps(), ctx, opened, plan, { started, finished: new Date().toISOString() });
      faultPoint('import:committed');
      if (plan.waiting.targets.length) {
        const m = opened.manifest;
        const e = new AirlockError(
          'BUNDLE_INCOMPLETE',
          `${plan.waiting.targets.length} of ${m.images.length} images wait for volume ${plan.waiting.volumes.join(', ')} (not given): ${plan.waiting.targets.join(', ')}; ${plan.images.length ? 'the others are imported; ' : ''}import again with ${plan.waiting.volumes.length > 1 ? 'those volumes' : 'that volume'} to finish the bundle`,
          { missingVolumes: plan.waiting.volumes },
        );
        // some images landed: not a refusal, the first part of an import that the missing volumes finish
        if (plan.images.length) {
          this.audit.append({
            actor: ctx.principal.user,
            role: ctx.principal.roles[0],
            action: 'bundle.import.partial',
            stage: m.target,
            requestId: ctx.requestId,
            details: {
              bundleId: m.id,
              channel: m.channel,
              sequence: m.sequence,
              imported: plan.images.map((c) => c.image.target),
              waiting: plan.waiting.targets,
              missingVolumes: plan.waiting.volumes,
            },
          });
          markAudited(e);
        }
        throw e;
      }
      return await writeImportReceipt(ctx, opened, plan, o.receiptDir);
    } catch (e) {
      if (isAirlockError(e) && !wasAudited(e)) {
        this.audit.append({
          actor: ctx.principal.user,
          role: ctx.principal.roles[0],
          action: 'bundle.import.refused',
          requestId: ctx.requestId,
          details: { code: e.code, message: e.message, bundleId: opened?.manifest.id ?? null, files: files.map((f) => f.split('/').pop()) },
        });
        markAudited(e);
      }
      throw e;
    } finally {
      if (opened) await fs.rm(opened.staging, { recursive: true, force: true });
      lock?.release();
    }
  }

  private landDeps(): LandDeps {
    return {
      db: this.db,
      audit: this.audit,
      catalog: this.catalog,
      registries: this.registries,
      service: this.service,
      bundles: this.bundles,
      importedAlready: (ch, m) => checkFreshness(this.bundles, ch, m),
    };
  }
}
