import { z } from 'zod';
import { bundleImageSchema } from '@airlock/bundle';
import { MAX_PLATFORMS_CHOSEN, PLATFORM } from '@airlock/oci';

/**
 * Queue and job names: the one place they are spelled. Renaming a value
 * orphans jobs already in Redis: it needs a migration plan (drain first).
 */
export const QUEUES = { promotions: 'airlock-promotions' } as const;

export const JOBS = { promote: 'promote', export: 'export' } as const;
export type JobName = (typeof JOBS)[keyof typeof JOBS];

const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** The largest manifest a promote job carries (bigger ones, rare, are fetched by the worker): jobs stay small in Redis. */
export const CARRIED_MANIFEST_MAX = 64 * 1024;

/** Payload of a promote job: ids, references and digests only, never secrets or keys. */
export const promoteJobSchema = z
  .object({
    promotionId: z.string().uuid(),
    attempt: z.number().int().min(1),
    fromStage: z.string().min(1),
    toStage: z.string().min(1),
    /** Source repository reference pinned to the digest. */
    source: z.string().min(1),
    digest: z.string().regex(DIGEST),
    /** Destination reference with its tag. */
    target: z.string().min(1),
    /** Only these platforms of the index land (a subset index, its own digest). */
    platforms: z.array(z.string().regex(PLATFORM)).min(1).max(MAX_PLATFORMS_CHOSEN).optional(),
    /**
     * The manifest `digest` names, as the API fetched it when the promotion
     * was requested (base64; up to CARRIED_MANIFEST_MAX bytes), so that the
     * worker need not fetch it again: it uses these bytes only when they
     * hash to `digest`, and fetches the manifest otherwise.
     */
    manifest: z
      .object({ mediaType: z.string().min(1).max(255), bytes: z.string().max(Math.ceil(CARRIED_MANIFEST_MAX / 3) * 4) })
      .strict()
      .optional(),
  })
  .strict();

export type PromoteJob = z.infer<typeof promoteJobSchema>;

/**
 * Payload of an export job: everything a worker needs to write the bundle
 * (it never opens the database), fixed when the API claimed the channel's
 * sequence. No secret: the worker unlocks the sender key itself.
 */
export const exportJobSchema = z
  .object({
    jobId: z.string().uuid(),
    bundleId: z.string().uuid(),
    channel: z.string().min(1),
    sequence: z.number().int().min(1),
    created: z.string().datetime(),
    expires: z.string().datetime(),
    full: z.boolean(),
    outDir: z.string().min(1),
    /** Blobs the far side confirmed by receipt (left out unless full). */
    knownBlobs: z.array(z.string().regex(DIGEST)),
    images: z.array(bundleImageSchema).min(1),
    /** Promotions among the images that an earlier bundle carried and no receipt confirmed: sent again. */
    resent: z.array(z.string().uuid()).default([]),
  })
  .strict();

export type ExportJob = z.infer<typeof exportJobSchema>;

/** What an export job wrote. */
export interface ExportWritten {
  dir: string;
  volumes: { name: string; size: number; sha256?: string }[];
  indexFile: string;
  bytes: number;
  blobsLeftOut: number;
  /** bundle.json as written (what the channel's sequence records). */
  manifest: import('@airlock/bundle').BundleManifest;
}

/** Progress of an export job, in bytes of entries written. */
export interface ExportProgress {
  bytesDone: number;
  bytesTotal: number;
}

/** One payload type per job name. */
export interface JobPayloads {
  promote: PromoteJob;
  export: ExportJob;
}
export type JobOf<N extends JobName> = JobPayloads[N];
export type JobItem = { [N in JobName]: { name: N; data: JobPayloads[N] } }[JobName];

/** Schemas by job name, so a worker validates what it takes off the queue. */
export const JOB_SCHEMAS: { [N in JobName]: z.ZodType<JobPayloads[N]> } = { promote: promoteJobSchema, export: exportJobSchema };

/** Steps of a promotion run, in order, and the state each puts the promotion in. */
export const STEPS = ['verify', 'copy', 'sign', 'publish'] as const;
export type StepName = (typeof STEPS)[number];

/** Progress a worker reports through BullMQ (the API records it). */
export interface StepProgress {
  step: StepName;
  status: 'started' | 'done';
  bytesDone?: number;
  bytesTotal?: number;
  detail?: Record<string, unknown>;
  /** The step that finished just before this one started (one report instead of two). */
  finished?: { step: StepName; detail?: Record<string, unknown> };
}

/** What a completed run returns. */
export interface PromoteResult {
  digest: string;
  target: string;
  bytesMoved: number;
  blobsCopied: number;
  blobsSkipped: number;
  blobsMounted: number;
  /** Each manifest's signature: its number in the lookaside (simple signing) or its layer in the registry's signature manifest (sigstore). */
  signatures: { digest: string; n: number; added: boolean; dialect?: 'sigstore'; form?: 'tag' | 'referrer' }[];
  sourceSignatureKeys: string[];
  /** The target is air-gapped: verified, now waiting for its channel's next bundle. */
  awaitingExport?: boolean;
}
