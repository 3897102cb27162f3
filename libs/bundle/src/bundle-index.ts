import { z } from 'zod';
import { parseStrictJsonBytes } from '@airlock/common';
import { BundleError } from './errors';
import { BLOB_ENTRY, BundleManifest, ENTRY_NAME, bundleManifestSchema } from './bundle-manifest';

export const BUNDLE_FORMAT_2 = 'airlock-bundle/v2';

/** What an entry is to the import: the small ones (all but blobs) are read before anything is pushed. */
export const ENTRY_ROLES = ['layout', 'manifest', 'blob', 'signature', 'sigstore'] as const;
export type EntryRole = (typeof ENTRY_ROLES)[number];

const SHA256 = z.string().regex(/^[a-f0-9]{64}$/);
/** A zip entry name: opaque, numbered across the bundle; `.pgp` when sealed. */
export const PART_NAME = /^e\/[0-9]{6}(\.pgp)?$/;

const partSchema = z
  .object({ volume: z.number().int().min(1).max(999), entry: z.string().regex(PART_NAME), size: z.number().int().min(0), sha256: SHA256 })
  .strict();

const indexEntrySchema = z
  .object({
    path: z.string().regex(ENTRY_NAME),
    role: z.enum(ENTRY_ROLES),
    size: z.number().int().min(0),
    sha256: SHA256,
    parts: z.array(partSchema).min(1).max(1000),
  })
  .strict();

/**
 * The signed index of a format-2 bundle (index.pgp in every volume): what
 * bundle.json says in format 1, plus where each entry lies: its layout path
 * and role, its size and SHA-256, and its parts (each in one volume under an
 * opaque name, with its own size and SHA-256).
 */
export const bundleIndexSchema = bundleManifestSchema
  .omit({ format: true, entries: true })
  .extend({
    format: z.literal(BUNDLE_FORMAT_2),
    encrypted: z.boolean(),
    volumes: z.number().int().min(1).max(999),
    entries: z.array(indexEntrySchema).min(1).max(200_000),
  })
  .strict();

export type BundleIndex = z.infer<typeof bundleIndexSchema>;
export type IndexEntry = BundleIndex['entries'][number];
export type IndexPart = IndexEntry['parts'][number];

/** A volume's file name: the channel, the sequence and the volume's number. */
export const volumeName = (channel: string, sequence: number, n: number) =>
  `airlock-${channel}-${String(sequence).padStart(6, '0')}.${String(n).padStart(3, '0')}.zip`;

/** The index read as strictly as bundle.json: valid UTF-8, no duplicate key, nothing after the value, the schema, and the rules between its entries. */
export function parseBundleIndex(bytes: Buffer, caps: { maxEntries: number; maxTotalBytes: number; maxEntryBytes: number }): BundleIndex {
  let doc: unknown;
  try {
    doc = parseStrictJsonBytes(bytes, 8);
  } catch (e) {
    throw new BundleError('BUNDLE_INVALID', `the bundle index is not strict JSON: ${(e as Error).message}`);
  }
  const r = bundleIndexSchema.safeParse(doc);
  if (!r.success)
    throw new BundleError(
      'BUNDLE_INVALID',
      `the bundle index is invalid: ${r.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.join('.')}: ${i.message}`)
        .join('; ')}`,
    );
  const index = r.data;
  if (index.entries.length > caps.maxEntries) throw new BundleError('BUNDLE_TOO_LARGE', `more than ${caps.maxEntries} entries`);
  const paths = new Set<string>();
  const lower = new Set<string>();
  const parts = new Set<string>();
  let total = 0;
  for (const e of index.entries) {
    if (paths.has(e.path) || lower.has(e.path.toLowerCase()))
      throw new BundleError('BUNDLE_UNSAFE_ENTRY', `the index lists ${e.path} twice (or two paths that differ only in case)`);
    paths.add(e.path);
    lower.add(e.path.toLowerCase());
    const blob = BLOB_ENTRY.exec(e.path);
    if (blob && blob[1] !== e.sha256)
      throw new BundleError('BUNDLE_DIGEST_MISMATCH', `the index says blob ${e.path} has SHA-256 ${e.sha256}: a blob's name is its digest`);
    if (
      (e.role === 'blob' || e.role === 'manifest') !== !!blob ||
      (e.role === 'layout') !== /^oci\/(oci-layout|index\.json)$/.test(e.path) ||
      (e.role === 'signature') !== e.path.startsWith('signatures/') ||
      (e.role === 'sigstore') !== e.path.startsWith('sigstore/')
    )
      throw new BundleError('BUNDLE_INVALID', `the index gives ${e.path} the role ${e.role}`);
    if (e.size > caps.maxEntryBytes) throw new BundleError('BUNDLE_TOO_LARGE', `${e.path} is larger than this side accepts`);
    total += e.size;
    if (e.parts.reduce((a, p) => a + p.size, 0) !== e.size)
      throw new BundleError('BUNDLE_INVALID', `the parts of ${e.path} do not add up to its size`);
    if (e.parts.length === 1 && e.parts[0].sha256 !== e.sha256)
      throw new BundleError('BUNDLE_DIGEST_MISMATCH', `${e.path} is in one part whose SHA-256 is not its own`);
    for (const p of e.parts) {
      if (p.volume > index.volumes)
        throw new BundleError('BUNDLE_INVALID', `the index puts part ${p.entry} in volume ${p.volume} of ${index.volumes}`);
      if (p.entry.endsWith('.pgp') !== index.encrypted)
        throw new BundleError(
          'BUNDLE_INVALID',
          `part ${p.entry} is ${index.encrypted ? 'not ' : ''}sealed in a bundle that is ${index.encrypted ? '' : 'not '}encrypted`,
        );
      if (parts.has(p.entry)) throw new BundleError('BUNDLE_UNSAFE_ENTRY', `the index names part ${p.entry} twice`);
      parts.add(p.entry);
    }
  }
  if (total > caps.maxTotalBytes) throw new BundleError('BUNDLE_TOO_LARGE', 'the bundle is larger than this side accepts');
  return index;
}

/** The index as the import reads a format-1 bundle.json: the same header, every entry by its layout path. */
export function manifestOfIndex(index: BundleIndex): BundleManifest {
  const { encrypted: _e, volumes: _v, entries, ...header } = index;
  return { ...header, entries: entries.map((e) => ({ name: e.path, size: e.size, sha256: e.sha256 })) };
}
