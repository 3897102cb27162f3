import { z } from 'zod';

export const BUNDLE_FORMAT = 'airlock-bundle/v1';

const SHA256 = z.string().regex(/^[a-f0-9]{64}$/);
const DIGEST = z.string().regex(/^sha256:[a-f0-9]{64}$/);

/** Entry names a bundle may hold: the OCI layout, the source signatures of both dialects (simple signing under signatures/, sigstore under sigstore/), nothing else. */
export const ENTRY_NAME =
  /^(oci\/oci-layout|oci\/index\.json|oci\/blobs\/sha256\/[a-f0-9]{64}|(?:signatures|sigstore)\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*@sha256=[a-f0-9]{64}\/signature-[1-9][0-9]{0,3})$/;

/** A blob entry; its name is its SHA-256. */
export const BLOB_ENTRY = /^oci\/blobs\/sha256\/([a-f0-9]{64})$/;

/** One image of a bundle, with the promotion record that travels with it. */
export const bundleImageSchema = z
  .object({
    promotionId: z.string().uuid(),
    source: z.string().min(1),
    target: z.string().min(1),
    digest: DIGEST,
    /** Only these platforms of the index (os/architecture[/variant]) travel and land, as a subset index computed from the one `digest` names. */
    platforms: z
      .array(z.string().regex(/^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/))
      .min(1)
      .max(64)
      .optional(),
    mediaType: z.string().min(1),
    requester: z.string(),
    reason: z.string(),
    requestedAt: z.string(),
    approvals: z.array(z.object({ approver: z.string(), role: z.string(), comment: z.string(), at: z.string() }).strict()),
    /** The release the promotion was requested in, recorded again on the far side. */
    release: z
      .object({ id: z.string().uuid(), name: z.string().min(1).max(100) })
      .strict()
      .optional(),
  })
  .strict();

/** One attachment of a carried image: its manifest is in the layout, with its blobs (or in the far side's registry already). */
export const bundleAttachmentSchema = z
  .object({
    subject: DIGEST,
    kind: z.enum(['sig', 'att', 'sbom', 'referrer']),
    manifest: DIGEST,
    mediaType: z.string().min(1).max(255),
    size: z
      .number()
      .int()
      .min(0)
      .max(4 << 20),
    artifactType: z.string().min(1).max(255).optional(),
    annotations: z.record(z.string().max(255), z.string().max(4096)).optional(),
  })
  .strict();

export type BundleAttachment = z.infer<typeof bundleAttachmentSchema>;

export const bundleManifestSchema = z
  .object({
    format: z.literal(BUNDLE_FORMAT),
    id: z.string().uuid(),
    channel: z.string().min(1).max(64),
    source: z.string().min(1),
    target: z.string().min(1),
    sequence: z.number().int().min(1),
    created: z.string().datetime(),
    expires: z.string().datetime(),
    sender: z.string().regex(/^[0-9A-F]{40}$/),
    full: z.boolean(),
    images: z.array(bundleImageSchema).min(1).max(10_000),
    entries: z
      .array(z.object({ name: z.string().regex(ENTRY_NAME), size: z.number().int().min(0), sha256: SHA256 }).strict())
      .min(1)
      .max(200_000),
    /** What was attached to the images in the source registry (cosign's .sig/.att/.sbom tags, OCI referrers): manifests in the layout, pushed beside the image on import. */
    attachments: z.array(bundleAttachmentSchema).max(100_000).optional(),
  })
  .strict();

/** bundle.json: what a bundle carries and the SHA-256 and size of every entry (for a format-2 bundle, the same read off its signed index). */
export type BundleManifest = Omit<z.infer<typeof bundleManifestSchema>, 'format'> & { format: typeof BUNDLE_FORMAT | 'airlock-bundle/v2' };
export type BundleEntry = BundleManifest['entries'][number];
