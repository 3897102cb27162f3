import { RegistryError } from './errors';
import { assertDigest } from './digest';
import { MANIFEST_MEDIA_TYPES, isIndexMediaType } from './media-types';

/** A content descriptor: what a manifest says about a blob or child manifest. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os?: string; architecture?: string; variant?: string };
  annotations?: Record<string, string>;
  /** OCI 1.1: the type of an artifact (a referrer's, in a referrers index). */
  artifactType?: string;
}

/** A manifest as stored: exact bytes (the digest is over these), its media type and digest. */
export interface ManifestBlob {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

/** What a manifest references: child manifests (index) or blobs (image). */
export type ParsedManifest = { kind: 'index'; manifests: Descriptor[] } | { kind: 'image'; config: Descriptor; layers: Descriptor[] };

function descriptor(x: unknown, where: string): Descriptor {
  if (typeof x !== 'object' || x === null) throw new RegistryError('MANIFEST_INVALID', `manifest ${where} is not an object`);
  const d = x as Record<string, unknown>;
  if (typeof d.digest !== 'string') throw new RegistryError('MANIFEST_INVALID', `manifest ${where} has no digest`);
  try {
    assertDigest(d.digest);
  } catch {
    throw new RegistryError('MANIFEST_INVALID', `manifest ${where} has an invalid digest`);
  }
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) {
    throw new RegistryError('MANIFEST_INVALID', `manifest ${where} has an invalid size`);
  }
  return {
    mediaType: typeof d.mediaType === 'string' ? d.mediaType : '',
    digest: d.digest,
    size: d.size,
    ...(d.platform ? { platform: d.platform } : {}),
  };
}

/**
 * Reads the references out of a manifest. `mediaType` is the one the
 * registry served (Content-Type), falling back to the document's own field.
 */
export function parseManifest(bytes: Buffer, servedMediaType?: string): { mediaType: string; parsed: ParsedManifest } {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new RegistryError('MANIFEST_INVALID', 'manifest is not valid JSON');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new RegistryError('MANIFEST_INVALID', 'manifest is not a JSON object');
  const declared = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  let mediaType = servedMediaType && MANIFEST_MEDIA_TYPES.includes(servedMediaType) ? servedMediaType : declared;
  if (!mediaType)
    mediaType = Array.isArray(doc.manifests) ? 'application/vnd.oci.image.index.v1+json' : 'application/vnd.oci.image.manifest.v1+json';
  if (!MANIFEST_MEDIA_TYPES.includes(mediaType)) {
    throw new RegistryError(
      'MANIFEST_UNSUPPORTED',
      `manifest media type ${mediaType} is not supported (schema2, OCI manifest, manifest list, OCI index are)`,
    );
  }
  if (declared && declared !== mediaType)
    throw new RegistryError('MANIFEST_INVALID', `manifest says ${declared} but was served as ${mediaType}`);
  if (doc.schemaVersion !== 2) throw new RegistryError('MANIFEST_UNSUPPORTED', 'only schemaVersion 2 manifests are supported');
  if (isIndexMediaType(mediaType)) {
    if (!Array.isArray(doc.manifests)) throw new RegistryError('MANIFEST_INVALID', 'index has no manifests array');
    return { mediaType, parsed: { kind: 'index', manifests: doc.manifests.map((m, i) => descriptor(m, `manifests[${i}]`)) } };
  }
  if (!Array.isArray(doc.layers)) throw new RegistryError('MANIFEST_INVALID', 'manifest has no layers array');
  return {
    mediaType,
    parsed: { kind: 'image', config: descriptor(doc.config, 'config'), layers: doc.layers.map((l, i) => descriptor(l, `layers[${i}]`)) },
  };
}
