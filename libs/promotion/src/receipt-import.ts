import { AirlockError, isAirlockError, markAudited } from '@airlock/common';
import { AuditLog } from '@airlock/audit';
import { Db } from '@airlock/database';
import { StageCatalog } from './stage-catalog';
import { channelOf } from './channels';
import { readReceipt } from './bundle-receipt';
import { PromotionStore } from './promotion-store';
import { nextState } from './promotion-lifecycle';
import { BundleStore } from './bundle-store';
import { PromotionService, Ctx } from './promotion.service';

/**
 * The low side takes a receipt back across the gap: the promotions it lists
 * become imported, and the blobs it confirms are left out of the channel's
 * next bundles (incremental transfer). The receipt must verify with a
 * channel's recipient key, name that channel, and confirm a bundle this side
 * exported on it with that sequence; a refusal is audited and changes
 * nothing.
 */
export async function importReceipt(
  db: Db,
  audit: AuditLog,
  catalog: StageCatalog,
  service: PromotionService,
  ctx: Ctx,
  channelName: string | undefined,
  bytes: Uint8Array,
): Promise<{ bundleId: string; promotions: number; blobs: number }> {
  try {
    return await applyReceipt(db, audit, catalog, service, ctx, channelName, bytes);
  } catch (e) {
    if (isAirlockError(e)) {
      audit.append({
        actor: ctx.principal.user,
        role: ctx.principal.roles[0],
        action: 'bundle.receipt.refused',
        requestId: ctx.requestId,
        details: { code: e.code, message: e.message, channel: channelName ?? null },
      });
      markAudited(e);
    }
    throw e;
  }
}

async function applyReceipt(
  db: Db,
  audit: AuditLog,
  catalog: StageCatalog,
  service: PromotionService,
  ctx: Ctx,
  channelName: string | undefined,
  bytes: Uint8Array,
): Promise<{ bundleId: string; promotions: number; blobs: number }> {
  const channels = channelName ? [channelOf(catalog, channelName)] : catalog.loaded.config.channels.map((c) => channelOf(catalog, c.name));
  let lastErr: unknown;
  for (const ch of channels) {
    let r;
    try {
      r = await readReceipt(bytes, await ch.recipients());
    } catch (e) {
      lastErr = e;
      continue;
    }
    if (r.channel !== ch.name)
      throw new AirlockError(
        'BUNDLE_INVALID',
        `the receipt is for channel ${JSON.stringify(r.channel.slice(0, 64))}, not ${ch.name}, whose key signed it`,
      );
    const bundles = new BundleStore(db);
    const b = bundles.byId(r.bundleId, 'export');
    if (b && b.channel !== ch.name)
      throw new AirlockError(
        'BUNDLE_INVALID',
        `the receipt is for bundle ${r.bundleId}, which this side exported on ${b.channel}, not ${ch.name}`,
      );
    if (!b)
      throw new AirlockError('BUNDLE_INVALID', `the receipt is for bundle ${r.bundleId}, which this side did not export on ${ch.name}`);
    if (b.sequence !== r.sequence)
      throw new AirlockError(
        'BUNDLE_INVALID',
        `the receipt says bundle ${r.bundleId} is sequence ${r.sequence}; this side exported it as ${b.sequence}`,
      );
    const store = new PromotionStore(db);
    let moved = 0;
    db.transaction(() => {
      for (const img of r.images) {
        const p = store.get(img.promotionId);
        if (p && nextState(p.state, 'receipt') && p.digest === img.digest) {
          service.transition(ctx, p, 'receipt', {}, { bundleId: r.bundleId, importer: r.importer, at: r.time });
          moved++;
        }
      }
      bundles.addKnownBlobs(ch.name, r.blobs);
      bundles.markReceipt(r.bundleId);
      audit.append({
        actor: ctx.principal.user,
        role: ctx.principal.roles[0],
        action: 'bundle.receipt',
        requestId: ctx.requestId,
        details: {
          bundleId: r.bundleId,
          channel: ch.name,
          sequence: r.sequence,
          importer: r.importer,
          promotions: moved,
          blobs: r.blobs.length,
        },
      });
    }).immediate();
    return { bundleId: r.bundleId, promotions: moved, blobs: r.blobs.length };
  }
  throw (lastErr as Error | undefined) ?? new AirlockError('CHANNEL_UNKNOWN', 'no channel is configured');
}
