import { promises as fs, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OciLayout, selectPlatforms, walkImage } from '@airlock/oci';
import { ImportResult, Opened, Plan } from './bundle-import-plan';
import { signReceipt } from './bundle-receipt';
import { Ctx } from './promotion.service';

/**
 * The signed receipt an import writes (written again, the same, for a bundle
 * imported before): the images as the bundle carried them and every blob
 * this side now holds for them, for the low side to leave out of later
 * bundles. With chosen platforms, only those platforms' blobs: the rest
 * never landed.
 */
export async function writeImportReceipt(ctx: Ctx, o: Opened, plan: Plan, receiptDir?: string): Promise<ImportResult> {
  const { ch, manifest: m } = o;
  const blobs = new Set<string>();
  // what landed of each image: with chosen platforms, the subset index (the receipt still names the digest the bundle carried)
  const landed = new Map<string, string>();
  for (const c of plan.images) {
    landed.set(c.image.promotionId, c.verified.graph.top.digest);
    for (const b of c.verified.graph.blobs) blobs.add(b.digest);
  }
  if (plan.again) {
    // the blobs of a bundle imported before: those its staged manifests name, of the chosen platforms only (the rest never landed)
    const layout = new OciLayout(join(o.staging, 'x', 'oci'));
    for (const img of m.images) {
      const whole = await walkImage(layout, img.digest);
      const g = img.platforms ? await selectPlatforms(whole, img.platforms) : whole;
      landed.set(img.promotionId, g.top.digest);
      for (const b of g.blobs) blobs.add(b.digest);
    }
  }
  const receipt = await signReceipt(
    {
      bundleId: m.id,
      channel: ch.name,
      sequence: m.sequence,
      importer: ctx.principal.user,
      time: new Date().toISOString(),
      images: m.images.map((i) => ({ promotionId: i.promotionId, digest: i.digest, target: i.target })),
      blobs: [...blobs].sort(),
    },
    await ch.importKey(),
  );
  const dir = receiptDir ?? ch.dir;
  mkdirSync(dir, { recursive: true });
  const receiptPath = join(dir, `airlock-${ch.name}-${String(m.sequence).padStart(6, '0')}.receipt`);
  writeFileSync(`${receiptPath}.tmp`, receipt);
  await fs.rename(`${receiptPath}.tmp`, receiptPath);
  return {
    bundleId: m.id,
    channel: ch.name,
    sequence: m.sequence,
    images: m.images.map((i) => ({ promotionId: i.promotionId, target: i.target, digest: landed.get(i.promotionId) ?? i.digest })),
    receipt: receiptPath,
    alreadyImported: plan.again,
  };
}
