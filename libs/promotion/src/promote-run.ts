import { AirlockError, faultPoint, isAirlockError } from '@airlock/common';
import {
  CopyEngine,
  ManifestBlob,
  Registries,
  RegistryRepository,
  digestLike,
  formatReference,
  parseReference,
  selectPlatforms,
} from '@airlock/oci';
import { StageCatalog } from './stage-catalog';
import { keysOf, moveSignedImage, verifySignedImage } from './image-pipeline';
import { RegistrySigstoreStore } from './sigstore-tag-store';
import { PromoteJob, PromoteResult, StepProgress } from './queues';

/** What a run needs from the process it runs in. */
export interface RunDeps {
  catalog: StageCatalog;
  registries: Registries;
  engine: CopyEngine;
  report(p: StepProgress): Promise<void>;
}

/** Codes worth another attempt; every other failure is final at once. */
const TRANSIENT = new Set(['REGISTRY_UNAVAILABLE', 'LOOKASIDE_UNAVAILABLE', 'BLOB_UPLOAD_FAILED', 'QUEUE_UNAVAILABLE']);

/** True when a failure is a policy or input refusal that a retry cannot change. */
export function isPermanent(e: unknown): boolean {
  return isAirlockError(e) && !TRANSIENT.has(e.code);
}

/**
 * The manifest the job carries (as the API fetched it at request time), when
 * its bytes are the ones the digest names; otherwise (none carried, or bytes
 * altered on the way) undefined, and the run fetches it from the registry.
 */
export function carriedManifest(job: PromoteJob): ManifestBlob | undefined {
  if (!job.manifest) return undefined;
  const bytes = Buffer.from(job.manifest.bytes, 'base64');
  return digestLike(job.digest, bytes) === job.digest ? { bytes, mediaType: job.manifest.mediaType, digest: job.digest } : undefined;
}

/**
 * One promotion run: the image pipeline (image-pipeline.ts) from the source
 * stage's registry to the target's, by the digest approved: verify the
 * source signatures on every manifest, copy by digest, sign with the target
 * stage key unless a valid target signature for this identity exists
 * already, publish to the target lookaside. For an air-gapped target only
 * the verification runs; the channel's next bundle carries the image. Every
 * step is safe to run twice.
 */
export async function runPromotion(job: PromoteJob, deps: RunDeps): Promise<PromoteResult> {
  const { catalog, registries, engine, report } = deps;
  const from = catalog.get(job.fromStage);
  const to = catalog.get(job.toStage);
  const arrival = to.config.from.find((f) => f.stage === from.name);
  if (!arrival) throw new AirlockError('PROMOTION_ROUTE_UNKNOWN', `stage ${to.name} does not accept images from ${from.name}`);
  const src = parseReference(job.source, { defaultTag: false });
  const dst = parseReference(job.target, { defaultTag: false });
  const source = new RegistryRepository(registries.client(src.registry), src.repository);
  const intended = formatReference(src.tag ? { ...src, digest: undefined } : { ...src, digest: job.digest });
  const trust = await catalog.trustFor(to.name, from.name);
  const policy = {
    trustedKeys: trust.openpgp,
    sigstoreKeys: trust.sigstore,
    sigstoreStore: new RegistrySigstoreStore(registries.client(src.registry)),
    identityRule: arrival.identityRule,
    reference: intended,
    repository: src.repository,
    store: from.lookaside,
    signer: `stage ${from.name} (${[trust.openpgp.length ? 'its lookaside' : '', trust.sigstore.length ? 'sigstore signatures in its registry' : ''].filter(Boolean).join(' or ')})`,
  };

  await report({ step: 'verify', status: 'started' });
  const whole = await verifySignedImage(source, job.digest, policy, carriedManifest(job));
  // chosen platforms: the source index verified as it was signed, then only the subset lands (its own digest, signed at the target)
  const verified = job.platforms ? { ...whole, graph: await selectPlatforms(whole.graph, job.platforms) } : whole;
  if (to.config.transport === 'bundle') {
    // air-gapped target: nothing crosses by network; the channel's next bundle carries it
    return {
      digest: verified.graph.top.digest,
      target: formatReference({ ...dst, digest: undefined }),
      bytesMoved: 0,
      blobsCopied: 0,
      blobsSkipped: 0,
      blobsMounted: 0,
      signatures: [],
      sourceSignatureKeys: keysOf(verified),
      awaitingExport: true,
    };
  }
  faultPoint('promote:verified');
  const identity = formatReference({ ...dst, digest: undefined });
  // bytes every half second while a copy runs; none for one that ends sooner: the report that starts signing carries the total
  // (each report is a Redis round trip for the worker and a transaction for the API)
  let last = Date.now();
  const moved = await moveSignedImage(
    source,
    new RegistryRepository(registries.client(dst.registry), dst.repository),
    verified.graph.top.digest,
    {
      policy,
      verified,
      engine,
      signer: catalog.signer(to.name),
      repository: dst.repository,
      sigstoreStore: new RegistrySigstoreStore(registries.client(dst.registry)),
      attachments: to.config.attachments,
      identity,
      tag: dst.tag,
      onStep: async (s) => {
        if (s.step === 'sign') faultPoint('promote:copied');
        await report(s);
      },
      onProgress: (p) => {
        if (p.bytesDone > p.bytesTotal / 2) faultPoint('promote:mid-copy');
        const now = Date.now();
        if (now - last > 500 && p.bytesDone < p.bytesTotal) {
          last = now;
          void report({ step: 'copy', status: 'started', bytesDone: p.bytesDone, bytesTotal: p.bytesTotal }).catch(() => undefined);
        }
      },
    },
  );
  // publish is closed by the completion the API records from the job's result
  return {
    digest: verified.graph.top.digest,
    target: identity,
    ...moved.copied,
    signatures: moved.signatures,
    sourceSignatureKeys: keysOf(verified),
  };
}
