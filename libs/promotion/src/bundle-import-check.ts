import { join } from 'node:path';
import { AirlockError, isAirlockError } from '@airlock/common';
import {
  ManifestBlob,
  OciLayout,
  Registries,
  formatReference,
  manifestDigests,
  parseReference,
  selectPlatforms,
  walkImage,
} from '@airlock/oci';
import { CarriedSigstoreStore, FileLookasideStore } from '@airlock/signing';
import { BundleManifest } from '@airlock/bundle';
import { CheckedImage, Opened, Plan } from './bundle-import-plan';
import { StageCatalog } from './stage-catalog';
import { Channel } from './channels';
import { BundleStore, bundleContent } from './bundle-store';
import { mapReference } from './repository-mapping';
import { VerifiedImage, verifySignedImage } from './image-pipeline';

/** How far a bundle's creation time may lie ahead of this side's clock. */
export const CLOCK_SKEW_MS = 5 * 60_000;

/** What the import's checks read: the stages, their registries, and the bundles this side imported. */
export interface CheckDeps {
  catalog: StageCatalog;
  registries: Registries;
  bundles: BundleStore;
}

/** Sequence, expiry and times; returns true when this very bundle was imported already (and then nothing may change). */
export function checkFreshness(bundles: BundleStore, ch: Channel, m: BundleManifest): boolean {
  const now = Date.now();
  const created = Date.parse(m.created);
  const expires = Date.parse(m.expires);
  if (expires < now) throw new AirlockError('BUNDLE_EXPIRED', `bundle expired at ${m.expires}`);
  if (created > now + CLOCK_SKEW_MS)
    throw new AirlockError(
      'BUNDLE_NOT_YET_VALID',
      `bundle was created at ${m.created}, later than this side's clock allows (${new Date(now).toISOString()}, ${CLOCK_SKEW_MS / 60_000} min of skew)`,
    );
  if (expires <= created) throw new AirlockError('BUNDLE_INVALID', `bundle expires (${m.expires}) before it was created (${m.created})`);
  if (expires - created > ch.config.lifetimeHours * 3_600_000)
    throw new AirlockError(
      'BUNDLE_LIFETIME_TOO_LONG',
      `bundle is valid for ${((expires - created) / 3_600_000).toFixed(1)} h, longer than the ${ch.config.lifetimeHours} h channel ${ch.name} allows (lifetimeHours)`,
    );
  const byId = bundles.byId(m.id, 'import');
  if (byId && (byId.channel !== ch.name || byId.sequence !== m.sequence || byId.content !== bundleContent(m)))
    throw new AirlockError(
      'BUNDLE_REPLAY',
      `bundle ${m.id} was already imported as sequence ${byId.sequence} of channel ${byId.channel}, with other content`,
    );
  if (byId) return true;
  if (bundles.bySequence(ch.name, 'import', m.sequence))
    throw new AirlockError('BUNDLE_REPLAY', `sequence ${m.sequence} of channel ${ch.name} was already imported with other content`);
  const last = bundles.lastSequence(ch.name, 'import');
  if (m.sequence <= last)
    throw new AirlockError(
      'BUNDLE_REPLAY',
      `bundle sequence ${m.sequence} is not newer than ${last}, the last imported on channel ${ch.name}`,
    );
  return false;
}

/**
 * Every check an import makes before it writes outside staging: freshness,
 * then for each image its mapping, its manifests and blobs, and the source
 * stage signature of each manifest (top level and every level below).
 */
export async function checkBundle(d: CheckDeps, o: Opened): Promise<Plan> {
  const { ch, manifest: m } = o;
  if (checkFreshness(d.bundles, ch, m)) return { again: true, images: [], waiting: { targets: [], volumes: [] } };
  const to = d.catalog.get(ch.config.to);
  const arrival = to.config.from.find((f) => f.stage === ch.config.from);
  if (!arrival) throw new AirlockError('PROMOTION_ROUTE_UNKNOWN', `stage ${to.name} does not accept images from ${ch.config.from}`);
  const trust = await d.catalog.trustFor(to.name, ch.config.from);
  const layout = new OciLayout(join(o.staging, 'x', 'oci'));
  const carried = new FileLookasideStore(join(o.staging, 'x', 'signatures'));
  const carriedSigstore = new CarriedSigstoreStore(join(o.staging, 'x', 'sigstore'));
  const targets = new Set<string>();
  const images: CheckedImage[] = [];
  const waiting = { targets: [] as string[], volumes: new Set<number>() };
  // what the bundle carries of a blob: staged (format 1), or listed in the index and in the volumes given (format 2)
  const carries = async (b: { digest: string; size: number; mediaType: string }): Promise<boolean> =>
    o.carried ? o.carried.hasBlob(b) : layout.hasBlob(b);
  for (const img of m.images) {
    const src = parseReference(img.source, { defaultTag: false });
    const dst = parseReference(img.target, { defaultTag: false });
    const mapped = mapReference(src, arrival.mapping);
    if (!mapped || formatReference(mapped) !== formatReference(dst))
      throw new AirlockError('BUNDLE_INVALID', `${img.target} is not where this side maps ${img.source}`);
    if (targets.has(img.target)) throw new AirlockError('BUNDLE_INVALID', `the bundle lists ${img.target} twice`);
    targets.add(img.target);
    // format 2 with volumes missing: an image with any entry in them waits for them (checked once they are given)
    const wait =
      o.carried && (await o.carried.waitsFor(layout, img.digest, src.repository, d.registries.client(dst.registry), dst.repository));
    if (wait?.length) {
      waiting.targets.push(img.target);
      wait.forEach((v) => waiting.volumes.add(v));
      continue;
    }
    const policy = {
      trustedKeys: trust.openpgp,
      sigstoreKeys: trust.sigstore,
      sigstoreStore: carriedSigstore,
      identityRule: arrival.identityRule,
      reference: img.source,
      repository: src.repository,
      store: carried,
      signer: `stage ${ch.config.from} (carried in the bundle)`,
    };
    let verified: VerifiedImage;
    try {
      verified = await verifySignedImage(layout, img.digest, policy);
    } catch (e) {
      if (isAirlockError(e) && e.code === 'BLOB_UNKNOWN')
        throw new AirlockError('BUNDLE_INCOMPLETE', `the bundle does not carry ${img.target}: ${e.message}`);
      if (isAirlockError(e) && e.code === 'BLOB_DIGEST_MISMATCH')
        throw new AirlockError('BUNDLE_DIGEST_MISMATCH', `${img.target}: ${e.message}`);
      throw e;
    }
    // chosen platforms: the index verified as it was signed; what lands is its subset (computed here, as the low side did)
    if (img.platforms) {
      try {
        verified = { ...verified, graph: await selectPlatforms(verified.graph, img.platforms) };
      } catch (e) {
        if (isAirlockError(e)) throw new AirlockError('BUNDLE_INVALID', `${img.target}: ${e.message}`);
        throw e;
      }
    }
    const graph = verified.graph;
    if (graph.top.mediaType !== img.mediaType)
      throw new AirlockError(
        'BUNDLE_INVALID',
        `bundle.json says ${img.target} is ${img.mediaType}, its manifest is ${graph.top.mediaType}`,
      );
    // a blob the bundle leaves out must be one the registry holds already (incremental bundles)
    const client = d.registries.client(dst.registry);
    for (const b of graph.blobs) {
      let inBundle: boolean;
      try {
        inBundle = await carries(b);
      } catch (e) {
        throw new AirlockError('BUNDLE_DIGEST_MISMATCH', `${img.target}: ${(e as Error).message}`);
      }
      if (!inBundle && !(await client.hasBlob(dst.repository, b.digest)))
        throw new AirlockError(
          'BUNDLE_INCOMPLETE',
          `blob ${b.digest} of ${img.target} is neither in the bundle nor in ${dst.registry}/${dst.repository}`,
        );
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
        if (isAirlockError(e) && (e.code === 'BLOB_UNKNOWN' || e.code === 'MANIFEST_UNKNOWN'))
          throw new AirlockError(
            'BUNDLE_INCOMPLETE',
            `the bundle lists an attachment (${att.kind}) of ${img.target} it does not carry: ${e.message}`,
          );
        if (isAirlockError(e) && e.code === 'BLOB_DIGEST_MISMATCH')
          throw new AirlockError('BUNDLE_DIGEST_MISMATCH', `${img.target}: ${e.message}`);
        throw e;
      }
      if (manifest.mediaType !== att.mediaType || manifest.bytes.length !== att.size)
        throw new AirlockError(
          'BUNDLE_INVALID',
          `bundle.json describes attachment ${att.manifest} of ${img.target} otherwise than its manifest`,
        );
      for (const b of blobs)
        if (!(await carries(b)) && !(await client.hasBlob(dst.repository, b.digest)))
          throw new AirlockError(
            'BUNDLE_INCOMPLETE',
            `blob ${b.digest} of an attachment of ${img.target} is neither in the bundle nor in ${dst.registry}/${dst.repository}`,
          );
      attachments.push({ att, manifest, blobs });
    }
    images.push({ image: img, dst, verified, attachments });
  }
  const listed = new Set(images.flatMap((c) => manifestDigests(c.verified.graph)));
  const stray = waiting.targets.length ? undefined : (m.attachments ?? []).find((a) => !listed.has(a.subject));
  if (stray)
    throw new AirlockError('BUNDLE_INVALID', `bundle.json lists an attachment of ${stray.subject}, which is none of the bundle's images`);
  return { again: false, images, waiting: { targets: waiting.targets, volumes: [...waiting.volumes].sort((a, b) => a - b) } };
}
