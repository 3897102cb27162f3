import { CopyEngine } from './copy-image';
import { attachedManifest, putSmallBlob, sameLayer } from './attached-manifest';
import { sha256Digest } from './digest';
import { RegistryError } from './errors';
import { Descriptor, ManifestBlob } from './manifest';
import { MediaTypes } from './media-types';
import { RegistryRepository } from './registry-repository';
import { presentTags } from './tag-presence';
import type { ImageSource } from './image-endpoint';

/**
 * What cosign attaches to an image digest, each under a tag of its own in the
 * image's repository: signatures (`sha256-<hex>.sig`), attestations
 * (`.att`) and SBOMs (`.sbom`); and the image's OCI 1.1 referrers (cosign
 * 3's bundles, other tools' attestations). They travel with the image so
 * provenance made in dev reaches production (docs/formats.md, "Attachments").
 */
export const ATTACHMENT_KINDS = ['sig', 'att', 'sbom'] as const;
export type AttachmentKind = (typeof ATTACHMENT_KINDS)[number] | 'referrers';
/** At most this many OCI referrers of one image travel with it. */
const MAX_REFERRERS = 64;

export const attachmentTag = (digest: string, kind: AttachmentKind): string => `${digest.replace(':', '-')}.${kind}`;

/** Attachment manifests are small; their layers are listed and merged, never more than this many. */
const MAX_LAYERS = 256;

function layersOf(m: ManifestBlob, what: string): { doc: Record<string, unknown>; layers: Descriptor[] } {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(m.bytes.toString('utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new RegistryError('MANIFEST_INVALID', `${what} is not JSON: ${(e as Error).message}`);
  }
  const layers = doc.layers;
  if (!Array.isArray(layers) || layers.length > MAX_LAYERS)
    throw new RegistryError('MANIFEST_INVALID', `${what} has no layer list, or more than ${MAX_LAYERS} layers`);
  return { doc, layers: layers as Descriptor[] };
}

/**
 * What is attached to image `digest` in a repository: which of the cosign
 * tags `kinds` it has, by one tag listing where the repository's tags are
 * few (most images have none: one request, not four), and its OCI referrers
 * (the referrers API, asked meanwhile, or the fallback tag when the listing
 * shows one).
 */
export async function lookupAttachments(
  repo: RegistryRepository,
  digest: string,
  kinds: readonly (typeof ATTACHMENT_KINDS)[number][] = ATTACHMENT_KINDS,
  withReferrers = true,
): Promise<{ present: boolean[]; referrers: { descs: Descriptor[]; api: boolean } }> {
  const presence = presentTags(repo.client, repo.repository, [...kinds.map((k) => attachmentTag(digest, k)), digest.replace(':', '-')]);
  const fallbackTagPresent = presence.then(
    (p) => p[kinds.length],
    () => true, // the failure is the listing's, thrown below
  );
  const [present, referrers] = await Promise.all([
    presence,
    withReferrers ? referrersOf(repo, digest, fallbackTagPresent) : { descs: [], api: false },
  ]);
  return { present: present.slice(0, kinds.length), referrers };
}

/**
 * Copies the attachments of image `digest` from one repository to another:
 * a kind the destination lacks is copied as it is (blobs, then the manifest
 * under its tag, by the copy engine); a kind both have is merged, the
 * destination's layers first and then the source's it lacks, so signatures
 * the destination holds already (its own stage's) stay. Returns the kinds
 * that were copied or merged; `skip` leaves kinds to the caller (a stage that
 * signs in the tag form writes the source's `.sig` layers with its own).
 */
export async function copyAttachments(
  engine: CopyEngine,
  source: RegistryRepository,
  dest: RegistryRepository,
  digest: string,
  o: { skip?: AttachmentKind[] } = {},
): Promise<AttachmentKind[]> {
  const moved: AttachmentKind[] = [];
  const kinds = ATTACHMENT_KINDS.filter((k) => !o.skip?.includes(k));
  const { present, referrers } = await lookupAttachments(source, digest, kinds, !o.skip?.includes('referrers'));
  for (const [i, kind] of kinds.entries()) {
    if (!present[i]) continue;
    if (
      await putAttachment(
        engine,
        source,
        dest,
        digest,
        kind,
        await source.client.getManifest(source.repository, attachmentTag(digest, kind)),
      )
    )
      moved.push(kind);
  }
  if (referrers.descs.length && (await putReferrers(engine, source, dest, digest, referrers.descs))) moved.push('referrers');
  return moved;
}

/**
 * Puts one attachment (`from`, a manifest `source` holds with its blobs)
 * under its tag at the destination, merging with what is there. Any image
 * source will do: a registry repository, or the OCI layout a bundle carried.
 * True when the destination changed.
 */
export async function putAttachment(
  engine: CopyEngine,
  source: ImageSource,
  dest: RegistryRepository,
  digest: string,
  kind: (typeof ATTACHMENT_KINDS)[number],
  from: ManifestBlob,
): Promise<boolean> {
  const tag = attachmentTag(digest, kind);
  const there = await dest.client.headManifest(dest.repository, tag);
  if (!there) {
    await engine.copy(source, dest, { top: from, tag });
    return true;
  }
  if (there.digest === from.digest) return false;
  const to = await dest.client.getManifest(dest.repository, tag);
  const src = layersOf(from, `${source.label}:${tag}`);
  const dst = layersOf(to, `${dest.label}:${tag}`);
  const missing = src.layers.filter((l) => !dst.layers.some((d) => sameLayer(d, l)));
  if (!missing.length) return false;
  if (dst.layers.length + missing.length > MAX_LAYERS)
    throw new RegistryError('MANIFEST_INVALID', `${dest.label}:${tag} would hold more than ${MAX_LAYERS} layers`);
  // the source's blobs (its layers among them) land in the destination by digest, then one manifest lists both
  await engine.copy(source, dest, { top: from });
  const { config, manifest } = attachedManifest([...dst.layers, ...missing], dst.doc);
  await putSmallBlob(dest.client, dest.repository, config.digest, config.bytes);
  await dest.client.putManifest(dest.repository, tag, manifest);
  return true;
}

/** An image's OCI 1.1 referrers: the referrers API's index, or the tag-schema fallback's (`sha256-<hex>`); with whether the registry has the API. */
export async function referrersOf(
  repo: RegistryRepository,
  digest: string,
  fallbackTagPresent: boolean | Promise<boolean> = true,
): Promise<{ descs: Descriptor[]; api: boolean }> {
  let bytes = await repo.client.getReferrers(repo.repository, digest);
  const api = !!bytes;
  // a lookup that found no fallback tag spares its GET
  if (!bytes && !(await fallbackTagPresent)) return { descs: [], api };
  if (!bytes) {
    try {
      bytes = (await repo.client.getManifest(repo.repository, digest.replace(':', '-'))).bytes;
    } catch (e) {
      if (e instanceof RegistryError && e.code === 'MANIFEST_UNKNOWN') return { descs: [], api };
      throw e;
    }
  }
  let doc: { manifests?: unknown };
  try {
    doc = JSON.parse(bytes.toString('utf8')) as { manifests?: unknown };
  } catch (e) {
    throw new RegistryError('MANIFEST_INVALID', `the referrers of ${repo.label}@${digest} are not JSON: ${(e as Error).message}`);
  }
  const descs = Array.isArray(doc.manifests)
    ? (doc.manifests as Descriptor[]).filter((d) => typeof d?.digest === 'string' && /^sha256:[a-f0-9]{64}$/.test(d.digest))
    : [];
  if (descs.length > MAX_REFERRERS)
    throw new RegistryError('MANIFEST_INVALID', `${repo.label}@${digest} has more than ${MAX_REFERRERS} referrers`);
  return { descs, api };
}

/**
 * Copies an image's OCI referrers from any image source (each manifest and its blobs, by digest);
 * on a destination without the referrers API, its tag-schema fallback index
 * gains the descriptors it lacks. True when anything was copied.
 */
export async function putReferrers(
  engine: CopyEngine,
  source: ImageSource,
  dest: RegistryRepository,
  digest: string,
  descs: Descriptor[],
): Promise<boolean> {
  for (const d of descs) {
    if (await dest.client.headManifest(dest.repository, d.digest)) continue;
    await engine.copy(source, dest, { top: await source.getManifest(d.digest) });
  }
  const there = await referrersOf(dest, digest);
  if (there.api) return true;
  const missing = descs.filter((d) => !there.descs.some((t) => t.digest === d.digest));
  if (!missing.length) return false;
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [...there.descs, ...missing] }));
  await dest.client.putManifest(dest.repository, digest.replace(':', '-'), {
    bytes,
    mediaType: MediaTypes.ociIndex,
    digest: sha256Digest(bytes),
  });
  return true;
}
