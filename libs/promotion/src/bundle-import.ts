import { mkdtempSync, promises as fs, readdirSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { AirlockError, faultPoint, isAirlockError, markAudited } from '@airlock/common';
import { AuditLog, Db } from '@airlock/audit';
import { Registries, formatReference, parseManifest, parseReference, pushFromLayout, layoutBlobPath } from '@airlock/oci';
import { IdentityRule, verify } from '@airlock/signing';
import { BundleManifest, checkVolumes, openBundle } from '@airlock/bundle';
import { StageCatalog } from './stage-catalog';
import { Channel, channelOf } from './channels';
import { mapReference } from './repository-mapping';
import { signAndPublish } from './promote-run';
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

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The high side's import: every check before anything leaves a fresh staging
 * folder (volumes, sender signature, sequence, expiry, caps, entries), then
 * push by digest, verify the source-stage signatures against the pushed
 * bytes, tag, re-sign with this side's key, publish, and record it all and
 * advance the channel in one transaction. A re-run of the same bundle
 * finishes the job; every step before the commit is idempotent.
 */
export class BundleImporter {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditLog,
    private readonly catalog: StageCatalog,
    private readonly registries: Registries,
  ) {}

  private stagingRoot(): string {
    const l = this.catalog.loaded;
    const root = join(dirname(l.resolvePath(l.config.database)), 'staging');
    mkdirSync(root, { recursive: true });
    // staging folders of imports whose process died (a crash, kill -9) are thrown away
    for (const d of readdirSync(root)) {
      const m = /^import-(\d+)-/.exec(d);
      if (m && Number(m[1]) !== process.pid && !alive(Number(m[1]))) rmSync(join(root, d), { recursive: true, force: true });
    }
    return root;
  }

  /** Verifies and extracts into staging; the caller removes `staging`. */
  private async open(files: string[]): Promise<{ ch: Channel; manifest: BundleManifest; staging: string; sender: string }> {
    // presence and sizes now; every volume's SHA-256 on the one pass that decrypts and extracts
    const { index, volumes } = await checkVolumes(files, { hash: false });
    const ch = channelOf(this.catalog, index.channel);
    const staging = mkdtempSync(join(this.stagingRoot(), `import-${process.pid}-`));
    const trusted = await ch.trustedSenders();
    if (!trusted.length) throw new AirlockError('KEY_MISSING', `channel ${ch.name} pins no sender key (trustedSenders); refusing every bundle`);
    try {
      const { manifest, senderFingerprint } = await openBundle(volumes, index, { staging: join(staging, 'x'), trustedSenders: trusted, decryptionKeys: [await ch.importKey()], requireEncrypted: ch.config.encrypt });
      if (manifest.channel !== ch.name || manifest.source !== ch.config.from || manifest.target !== ch.config.to) throw new AirlockError('BUNDLE_INVALID', `bundle is for ${manifest.channel} (${manifest.source} -> ${manifest.target}), not this channel`);
      if (manifest.sender !== senderFingerprint) throw new AirlockError('BUNDLE_INVALID', 'bundle.json names another sender than the key that signed it');
      return { ch, manifest, staging, sender: senderFingerprint };
    } catch (e) {
      await fs.rm(staging, { recursive: true, force: true });
      throw e;
    }
  }

  /** Shows what a bundle holds and whether it would import, without importing. */
  async inspect(files: string[]): Promise<{ manifest: BundleManifest; wouldImport: boolean; problem?: { code: string; message: string } }> {
    const { ch, manifest, staging } = await this.open(files);
    try {
      try {
        this.checkFreshness(ch, manifest);
        return { manifest, wouldImport: true };
      } catch (e) {
        if (!isAirlockError(e)) throw e;
        return { manifest, wouldImport: false, problem: { code: e.code, message: e.message } };
      }
    } finally {
      await fs.rm(staging, { recursive: true, force: true });
    }
  }

  /** Sequence and expiry; returns true when this very bundle was imported already. */
  private checkFreshness(ch: Channel, m: BundleManifest): boolean {
    const same = this.db.prepare("SELECT id, content FROM bundles WHERE channel = ? AND direction = 'import' AND sequence = ?").get(ch.name, m.sequence) as { id: string; content: string } | undefined;
    if (same) {
      if (same.id === m.id && same.content === sha256(Buffer.from(JSON.stringify(m)))) return true;
      throw new AirlockError('BUNDLE_REPLAY', `sequence ${m.sequence} of channel ${ch.name} was already imported with other content`);
    }
    const last = (this.db.prepare("SELECT MAX(sequence) AS s FROM bundles WHERE channel = ? AND direction = 'import'").get(ch.name) as { s: number | null }).s ?? 0;
    if (m.sequence <= last) throw new AirlockError('BUNDLE_REPLAY', `bundle sequence ${m.sequence} is not newer than ${last}, the last imported on channel ${ch.name}`);
    if (Date.parse(m.expires) < Date.now()) throw new AirlockError('BUNDLE_EXPIRED', `bundle expired at ${m.expires}`);
    return false;
  }

  async import(ctx: Ctx, files: string[], o: { receiptDir?: string } = {}): Promise<ImportResult> {
    let opened: Awaited<ReturnType<BundleImporter['open']>> | undefined;
    try {
      opened = await this.open(files);
      const { ch, manifest: m, staging } = opened;
      const again = this.checkFreshness(ch, m);
      const to = this.catalog.get(ch.config.to);
      const arrival = to.config.from.find((f) => f.stage === ch.config.from);
      if (!arrival) throw new AirlockError('PROMOTION_ROUTE_UNKNOWN', `stage ${to.name} does not accept images from ${ch.config.from}`);
      const trusted = await this.catalog.trustedKeysFor(to.name, ch.config.from);
      const layout = join(staging, 'x', 'oci');
      const blobs = new Set<string>();
      for (const img of m.images) {
        const src = parseReference(img.source, { defaultTag: false });
        const dst = parseReference(img.target, { defaultTag: false });
        const mapped = mapReference(src, arrival.mapping);
        if (!mapped || formatReference(mapped) !== formatReference(dst)) throw new AirlockError('BUNDLE_INVALID', `${img.target} is not where this side maps ${img.source}`);
        const client = this.registries.client(dst.registry);
        faultPoint('import:checked');
        await pushFromLayout(layout, client, dst.repository, img.digest);
        faultPoint('import:pushed');
        // the source stage signature, checked against the bytes the registry now serves
        const served = await client.getManifest(dst.repository, img.digest);
        const parsed = parseManifest(served.bytes, served.mediaType);
        const digests = [img.digest, ...(parsed.parsed.kind === 'index' ? parsed.parsed.manifests.map((c) => c.digest) : [])];
        for (const d of digests) {
          const mm = parseManifest(await fs.readFile(layoutBlobPath(layout, d)));
          if (mm.parsed.kind === 'image') for (const b of [mm.parsed.config, ...mm.parsed.layers]) blobs.add(b.digest);
          const dir = join(staging, 'x', 'signatures', `${src.repository}@${d.replace(':', '=')}`);
          const sigs = existsSync(dir) ? readdirSync(dir).filter((f) => /^signature-\d+$/.test(f)).sort((a, b) => Number(a.slice(10)) - Number(b.slice(10))) : [];
          let ok = false;
          let first: unknown;
          for (const f of sigs) {
            try {
              await verify(await fs.readFile(join(dir, f)), { trustedKeys: trusted, manifestDigest: d, reference: img.source, identityRule: arrival.identityRule as IdentityRule });
              ok = true;
              break;
            } catch (e) {
              first ??= e;
            }
          }
          if (!ok) throw first ?? new AirlockError('SIGNATURE_REQUIRED', `the bundle carries no ${ch.config.from} signature for ${img.source} (${d})`);
        }
        faultPoint('import:verified');
        if (dst.tag) await client.putManifest(dst.repository, dst.tag, { ...served, mediaType: parsed.mediaType });
        faultPoint('import:tagged');
        await signAndPublish(this.catalog, to.name, dst.repository, digests, formatReference({ ...dst, digest: undefined }));
        faultPoint('import:signed');
      }
      const importer = ctx.principal.user;
      const now = new Date().toISOString();
      faultPoint('import:before-commit');
      if (!again) {
        this.db
          .transaction(() => {
            this.db
              .prepare('INSERT INTO bundles (id, channel, direction, sequence, created_at, expires_at, full, sender, content, volumes, images, bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
              .run(m.id, ch.name, 'import', m.sequence, m.created, m.expires, m.full ? 1 : 0, m.sender, sha256(Buffer.from(JSON.stringify(m))), '[]', JSON.stringify(m.images.map((i) => ({ promotionId: i.promotionId, digest: i.digest, target: i.target }))), m.entries.reduce((a, e) => a + e.size, 0));
            for (const img of m.images) {
              this.db
                .prepare(
                  `INSERT OR IGNORE INTO promotions (id, image, source_ref, target_ref, digest, media_type, from_stage, to_stage, reason, requester, state, approvals_required, attempt, bytes_done, bytes_total, created_at, updated_at, finished_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'imported', ?, 1, 0, 0, ?, ?, ?)`,
                )
                .run(img.promotionId, img.source, img.source, img.target, img.digest, img.mediaType, m.source, m.target, img.reason, img.requester, img.approvals.length, img.requestedAt, now, now);
              for (const a of img.approvals) this.db.prepare('INSERT OR IGNORE INTO approvals (promotion_id, approver, role, comment, created_at) VALUES (?, ?, ?, ?, ?)').run(img.promotionId, a.approver, a.role, a.comment, a.at);
              this.audit.append({ actor: importer, role: ctx.principal.roles[0], action: 'promotion.imported', promotionId: img.promotionId, stage: m.target, image: img.target, digest: img.digest, requestId: ctx.requestId, details: { bundleId: m.id, channel: ch.name, sequence: m.sequence, sender: m.sender, requester: img.requester, requestedAt: img.requestedAt, reason: img.reason, approvals: img.approvals } });
            }
            this.audit.append({ actor: importer, role: ctx.principal.roles[0], action: 'bundle.imported', stage: m.target, requestId: ctx.requestId, details: { bundleId: m.id, channel: ch.name, sequence: m.sequence, images: m.images.length, sender: m.sender } });
          })
          .immediate();
      }
      faultPoint('import:committed');
      const receipt = await signReceipt({ bundleId: m.id, channel: ch.name, sequence: m.sequence, importer, time: now, images: m.images.map((i) => ({ promotionId: i.promotionId, digest: i.digest, target: i.target })), blobs: [...blobs].sort() }, await ch.importKey());
      const dir = o.receiptDir ?? ch.dir;
      mkdirSync(dir, { recursive: true });
      const receiptPath = join(dir, `airlock-${ch.name}-${String(m.sequence).padStart(6, '0')}.receipt`);
      writeFileSync(`${receiptPath}.tmp`, receipt);
      await fs.rename(`${receiptPath}.tmp`, receiptPath);
      return { bundleId: m.id, channel: ch.name, sequence: m.sequence, images: m.images.map((i) => ({ promotionId: i.promotionId, target: i.target, digest: i.digest })), receipt: receiptPath, alreadyImported: again };
    } catch (e) {
      if (isAirlockError(e)) {
        this.audit.append({ actor: ctx.principal.user, role: ctx.principal.roles[0], action: 'bundle.import.refused', requestId: ctx.requestId, details: { code: e.code, message: e.message, bundleId: opened?.manifest.id ?? null, files: files.map((f) => f.split('/').pop()) } });
        markAudited(e);
      }
      throw e;
    } finally {
      if (opened) await fs.rm(opened.staging, { recursive: true, force: true });
    }
  }
}
