import { AirlockError, faultPoint, isAirlockError } from '@airlock/common';
import { CopyEngine, Registries, RegistryRepository, formatReference, manifestDigests, parseReference, walkImage } from '@airlock/oci';
import { IdentityRule, requireAccepted, sign, verify, readPublicKeys } from '@airlock/signing';
import { StageCatalog } from './stage-catalog';
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
 * One promotion run: verify the source signatures for the exact digest (and
 * each platform manifest), copy by digest, sign with the target stage key
 * unless a valid target signature for this identity exists already, and
 * publish to the target lookaside. Every step is safe to run twice.
 */
export async function runPromotion(job: PromoteJob, deps: RunDeps): Promise<PromoteResult> {
  const { catalog, registries, engine, report } = deps;
  const from = catalog.get(job.fromStage);
  const to = catalog.get(job.toStage);
  const arrival = to.config.from.find((f) => f.stage === from.name);
  if (!arrival) throw new AirlockError('PROMOTION_ROUTE_UNKNOWN', `stage ${to.name} does not accept images from ${from.name}`);
  const src = parseReference(job.source, { defaultTag: false });
  const dst = parseReference(job.target, { defaultTag: false });

  // verify
  await report({ step: 'verify', status: 'started' });
  const source = new RegistryRepository(registries.client(src.registry), src.repository);
  const manifest = await source.getManifest(job.digest);
  const digests = manifestDigests(await walkImage(source, job.digest, manifest));
  const trusted = await catalog.trustedKeysFor(to.name, from.name);
  const intended = formatReference(src.tag ? { ...src, digest: undefined } : { ...src, digest: job.digest });
  const accepted = await requireAccepted(digests, { trustedKeys: trusted, identityRule: arrival.identityRule as IdentityRule, reference: intended, repository: src.repository, store: from.lookaside, signer: `stage ${from.name} in its lookaside` });
  const keysUsed = new Set([...accepted.values()].map((v) => v.keyFingerprint));
  if (to.config.transport === 'bundle') {
    // air-gapped target: nothing crosses by network; the channel's next bundle carries it
    return { digest: job.digest, target: formatReference({ ...dst, digest: undefined }), bytesMoved: 0, blobsCopied: 0, blobsSkipped: 0, blobsMounted: 0, signatures: [], sourceSignatureKeys: [...keysUsed], awaitingExport: true };
  }

  faultPoint('promote:verified');
  // copy (the report that starts it also closes verify: one report instead of two)
  await report({ step: 'copy', status: 'started', finished: { step: 'verify', detail: { keys: [...keysUsed], manifests: digests.length } } });
  // bytes every half second while a copy runs; none for one that ends sooner: the report that starts signing carries the total
  // (each report is a Redis round trip for the worker and a transaction for the API: two of seven per small image, before)
  let last = Date.now();
  const copied = await engine.copyImage({ ...src, tag: undefined, digest: job.digest }, dst, {
    expectDigest: job.digest,
    sourceManifest: manifest,
    onProgress: (p) => {
      if (p.bytesDone > p.bytesTotal / 2) faultPoint('promote:mid-copy');
      const now = Date.now();
      if (now - last > 500 && p.bytesDone < p.bytesTotal) {
        last = now;
        void report({ step: 'copy', status: 'started', bytesDone: p.bytesDone, bytesTotal: p.bytesTotal }).catch(() => undefined);
      }
    },
  });
  faultPoint('promote:copied');
  // sign (reusing a valid signature of ours for this identity: a re-run adds none), then publish
  const identity = formatReference({ ...dst, digest: undefined });
  const signatures = await signAndPublish(catalog, to.name, dst.repository, digests, identity, async (fresh) => {
    await report({
      step: 'sign',
      status: 'started',
      bytesDone: copied.bytesMoved,
      bytesTotal: copied.bytesMoved,
      finished: { step: 'copy', detail: { bytesMoved: copied.bytesMoved, blobsCopied: copied.blobsCopied, blobsSkipped: copied.blobsSkipped, blobsMounted: copied.blobsMounted } },
    });
    await report({ step: 'publish', status: 'started', finished: { step: 'sign', detail: { new: fresh } } });
  });
  // publish is closed by the completion the API records from the job's result
  return {
    digest: job.digest,
    target: identity,
    bytesMoved: copied.bytesMoved,
    blobsCopied: copied.blobsCopied,
    blobsSkipped: copied.blobsSkipped,
    blobsMounted: copied.blobsMounted,
    signatures,
    sourceSignatureKeys: [...keysUsed],
  };
}

/**
 * Makes sure each digest carries one signature by the stage key for
 * `identity` in the stage lookaside: an existing valid one is reused (a re-run
 * adds none), missing ones are signed and published.
 */
export async function signAndPublish(catalog: StageCatalog, stageName: string, repository: string, digests: string[], identity: string, beforePublish?: (fresh: number) => Promise<void>): Promise<PromoteResult['signatures']> {
  const stage = catalog.get(stageName);
  if (!stage.publicKeyArmored) throw new AirlockError('KEY_MISSING', `stage ${stage.name} has no signing key configured`);
  const ownKeys = await readPublicKeys(stage.publicKeyArmored);
  const pending: { digest: string; sig?: Uint8Array; existing?: number }[] = [];
  for (const d of digests) {
    let found: number | undefined;
    for (const [i, s] of (await stage.lookaside.list(repository, d)).entries()) {
      try {
        const v = await verify(s, { trustedKeys: ownKeys, manifestDigest: d, reference: identity, identityRule: { type: 'matchExact' } });
        if (v.dockerReference === identity) {
          found = i + 1;
          break;
        }
      } catch {
        /* not ours or not for this identity */
      }
    }
    pending.push({ digest: d, existing: found });
  }
  if (pending.some((p) => p.existing === undefined)) {
    const key = await catalog.signingKey(stage.name);
    for (const p of pending) if (p.existing === undefined) p.sig = await sign(p.digest, identity, key);
  }
  await beforePublish?.(pending.filter((p) => p.sig).length);
  faultPoint('promote:signed');
  const out: PromoteResult['signatures'] = [];
  for (const p of pending) {
    if (p.sig) {
      const r = await stage.lookaside.addOnce(repository, p.digest, p.sig);
      out.push({ digest: p.digest, n: r.n, added: r.added });
      faultPoint('promote:published-one');
    } else out.push({ digest: p.digest, n: p.existing as number, added: false });
  }
  return out;
}
