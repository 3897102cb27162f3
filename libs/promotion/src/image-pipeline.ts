import type { KeyObject } from 'node:crypto';
import type { Key, PrivateKey } from 'openpgp';
import { faultPoint } from '@airlock/common';
import {
  CopyEngine,
  CopyProgress,
  ImageDestination,
  ImageGraph,
  ImageSource,
  ManifestBlob,
  RegistryRepository,
  copyAttachments,
  manifestDigests,
  walkImage,
} from '@airlock/oci';
import {
  AcceptancePolicy,
  FileLookasideStore,
  SigstorePublicKey,
  SigstoreSignature,
  VerifiedSignature,
  buildSigstoreBundle,
  requireAccepted,
  sign,
  signSigstore,
  verify,
  verifySigstore,
} from '@airlock/signing';
import { RegistrySigstoreStore, TaggedLayer } from './sigstore-tag-store';
import { PromoteResult, StepProgress } from './queues';

/**
 * The one image pipeline of airlock, whatever the transport: verify the
 * source stage's signatures, move the image by digest, sign it with the next
 * stage's key, publish the signatures. A promotion runs it registry to
 * registry, an export verifies into a bundle, an import moves from the
 * bundle's OCI layout into the registry; each step is also usable alone, so
 * an import can check every image before it moves any.
 */

/** A source image every manifest of which carries an accepted signature. */
export interface VerifiedImage {
  source: ImageSource;
  graph: ImageGraph;
  /** The accepted signature of each manifest, by digest. */
  accepted: Map<string, VerifiedSignature>;
}

/** Reads the image (walkImage: the one rule for indexes) and requires an accepted signature on every manifest. */
export async function verifySignedImage(
  source: ImageSource,
  digest: string,
  policy: AcceptancePolicy,
  top?: ManifestBlob,
): Promise<VerifiedImage> {
  const graph = await walkImage(source, digest, top);
  return { source, graph, accepted: await requireAccepted(manifestDigests(graph), policy) };
}

/** The full fingerprints of the keys that vouched for an image. */
export const keysOf = (v: VerifiedImage): string[] => [...new Set([...v.accepted.values()].map((s) => s.keyFingerprint))];

/**
 * Who signs at the destination, in each dialect it has a key for: simple
 * signing (OpenPGP public keys to find its own signatures, its key unlocked
 * only when a signature is missing, the lookaside it publishes to; none when
 * `publicKeys` is empty) and sigstore (its key pair; signatures go to the
 * destination registry, in the store the caller gives).
 */
export interface ImageSigner {
  publicKeys: Key[];
  key(): Promise<PrivateKey>;
  publishTo: FileLookasideStore;
  sigstore?: { publicKey: SigstorePublicKey; key(): Promise<KeyObject>; attach: 'tag' | 'referrer' | 'both' };
}

/** Signatures made (or found) for each manifest of an image, not published yet. */
export interface PreparedSignatures {
  repository: string;
  identity: string;
  pending: { digest: string; sig?: Uint8Array; existing?: number }[];
  /** The sigstore signatures (the identity is the repository, as cosign writes it), when the stage signs in that dialect. */
  sigstore?: {
    store: RegistrySigstoreStore;
    /** The stage's own key: what the tag form's write recognizes as a signature of ours already there. */
    publicKey: SigstorePublicKey;
    pending: {
      digest: string;
      form: 'tag' | 'referrer';
      sig?: SigstoreSignature;
      bundle?: Buffer;
      carry?: TaggedLayer[];
      /** The referrer form's signature of ours already there (its number): none is made. */
      existing?: number;
    }[];
  };
  /** How many were made (the tag form's are always made, which costs less than a read; publishing keeps one already there). */
  fresh: number;
}

/** The repository part of a reference (`host/ns/app`), the identity cosign signs. */
const repositoryOf = (identity: string): string => identity.replace(/(@sha256:[a-f0-9]+|:[^/:]+)$/, '');

/**
 * For each digest, in each dialect of the signer: a valid signature of ours
 * for the identity already there is reused (a re-run adds none); the others
 * are signed now. Sigstore signatures need the destination's `sigstoreStore`.
 */
export async function prepareSignatures(
  signer: ImageSigner,
  repository: string,
  digests: string[],
  identity: string,
  sigstoreStore?: RegistrySigstoreStore,
  carryFrom?: { store: RegistrySigstoreStore; repository: string },
): Promise<PreparedSignatures> {
  const pending: PreparedSignatures['pending'] = [];
  for (const d of signer.publicKeys.length ? digests : []) {
    let existing: number | undefined;
    for (const [i, s] of (await signer.publishTo.list(repository, d)).entries()) {
      try {
        const v = await verify(s, {
          trustedKeys: signer.publicKeys,
          manifestDigest: d,
          reference: identity,
          identityRule: { type: 'matchExact' },
        });
        if (v.dockerReference === identity) {
          existing = i + 1;
          break;
        }
      } catch {
        /* not ours or not for this identity */
      }
    }
    pending.push({ digest: d, existing });
  }
  if (pending.some((p) => p.existing === undefined)) {
    const key = await signer.key();
    for (const p of pending) if (p.existing === undefined) p.sig = await sign(p.digest, identity, key);
  }
  let sigstore: PreparedSignatures['sigstore'];
  if (signer.sigstore && sigstoreStore) {
    const repo = repositoryOf(identity);
    const own = signer.sigstore.publicKey;
    const forms: ('tag' | 'referrer')[] = signer.sigstore.attach === 'both' ? ['tag', 'referrer'] : [signer.sigstore.attach];
    const spending: NonNullable<PreparedSignatures['sigstore']>['pending'] = [];
    for (const form of forms) {
      for (const d of digests) {
        if (form === 'tag') {
          // signed without reading the destination first: a payload is the same bytes every time, so the one write
          // (read, merge, write) finds an earlier signature of this key over it and keeps that one (RegistrySigstoreStore.add);
          // the source's .sig layers travel with ours in that write (no copy of the source's .sig first)
          const carry = carryFrom ? await carryFrom.store.taggedLayers(carryFrom.repository, d) : [];
          spending.push({ digest: d, form, ...(carry.length ? { carry } : {}) });
          continue;
        }
        const found = (await sigstoreStore.listBundles(repository, d)).findIndex((s) => {
          try {
            return (
              verifySigstore(s, { trustedKeys: [own], manifestDigest: d, reference: repo, identityRule: { type: 'matchRepository' } })
                .dockerReference === repo
            );
          } catch {
            return false; // not ours, or not for this identity
          }
        });
        spending.push({ digest: d, form, ...(found >= 0 ? { existing: found + 1 } : {}) });
      }
    }
    if (spending.some((p) => p.existing === undefined)) {
      const key = await signer.sigstore.key();
      for (const p of spending) {
        if (p.existing !== undefined) continue;
        if (p.form === 'tag') p.sig = signSigstore(p.digest, repo, key);
        else p.bundle = buildSigstoreBundle(p.digest, repo, key, own.key);
      }
    }
    sigstore = { store: sigstoreStore, publicKey: own, pending: spending };
  }
  faultPoint('promote:signed');
  return {
    repository,
    identity,
    pending,
    sigstore,
    fresh: pending.filter((p) => p.sig).length + (sigstore?.pending.filter((p) => p.sig || p.bundle).length ?? 0),
  };
}

/** Publishes what prepareSignatures made, each once (a concurrent or repeated run adds no second signature for the identity). */
export async function publishSignatures(signer: ImageSigner, prepared: PreparedSignatures): Promise<PromoteResult['signatures']> {
  const out: PromoteResult['signatures'] = [];
  for (const p of prepared.pending) {
    if (p.sig) {
      const r = await signer.publishTo.addOnce(prepared.repository, p.digest, p.sig);
      out.push({ digest: p.digest, n: r.n, added: r.added });
      faultPoint('promote:published-one');
    } else out.push({ digest: p.digest, n: p.existing as number, added: false });
  }
  const store = prepared.sigstore?.store;
  for (const p of prepared.sigstore?.pending ?? []) {
    if (store && (p.sig || p.bundle || p.carry)) {
      const r = p.bundle
        ? await store.addReferrer(prepared.repository, p.digest, p.bundle)
        : await store.add(prepared.repository, p.digest, p.sig, p.carry, prepared.sigstore?.publicKey);
      out.push({
        digest: p.digest,
        n: r.n,
        added: r.added,
        dialect: 'sigstore',
        form: p.form,
      });
    } else out.push({ digest: p.digest, n: p.existing as number, added: false, dialect: 'sigstore', form: p.form });
  }
  return out;
}

export interface MoveOptions {
  policy: AcceptancePolicy;
  engine: CopyEngine;
  signer: ImageSigner;
  /** Repository of the destination the signatures are published under, and the identity they sign. */
  repository: string;
  /** The destination registry's sigstore signatures, when the signer signs in that dialect. */
  sigstoreStore?: RegistrySigstoreStore;
  /** Copy what is attached to each manifest (cosign's .sig, .att, .sbom) with the image, registry to registry, before signing. */
  attachments?: boolean;
  identity: string;
  /** Tag to set at the destination once the image is there (none: by digest only). */
  tag?: string;
  /** The source's top manifest when the caller holds it already. */
  top?: ManifestBlob;
  /** The verified image when the caller verified it already (the verify step is then not run again). */
  verified?: VerifiedImage;
  /** Each step as it starts, in order, carrying the one that just finished. */
  onStep?(s: StepProgress): Promise<void>;
  onProgress?(p: CopyProgress): void;
}

export interface MoveResult {
  verified: VerifiedImage;
  copied: { bytesMoved: number; blobsCopied: number; blobsSkipped: number; blobsMounted: number; attachments?: number };
  signatures: PromoteResult['signatures'];
}

/**
 * verify, move, sign, publish, for one image: the steps are reported as
 * they start, in the order they happen (`onStep`), each report closing the
 * step before it; the last (publish) is closed by the caller.
 */
export async function moveSignedImage(
  source: ImageSource,
  destination: ImageDestination,
  digest: string,
  o: MoveOptions,
): Promise<MoveResult> {
  const step = o.onStep ?? (async () => undefined);
  let verified = o.verified;
  if (!verified) {
    await step({ step: 'verify', status: 'started' });
    verified = await verifySignedImage(source, digest, o.policy, o.top);
  }
  await step({
    step: 'copy',
    status: 'started',
    finished: { step: 'verify', detail: { keys: keysOf(verified), manifests: verified.graph.manifests.length } },
  });
  // the attachments move beside the image's blobs (neither needs the other), both before anything is signed
  // a stage that signs in the tag form writes the source's .sig layers with its own signature, in one write
  const carrySig = !!(
    o.attachments &&
    o.signer.sigstore &&
    o.signer.sigstore.attach !== 'referrer' &&
    o.sigstoreStore &&
    o.policy.sigstoreStore instanceof RegistrySigstoreStore
  );
  const attach = async (): Promise<number> => {
    if (!(o.attachments && source instanceof RegistryRepository && destination instanceof RegistryRepository)) return 0;
    const moved = await Promise.all(
      manifestDigests(verified.graph).map((d) => copyAttachments(o.engine, source, destination, d, { skip: carrySig ? ['sig'] : [] })),
    );
    return moved.reduce((a, m) => a + m.length, 0);
  };
  const [c, attachments] = await Promise.all([
    o.engine.copy(source, destination, { top: verified.graph.top, tag: o.tag, onProgress: o.onProgress }),
    attach(),
  ]);
  const copied = {
    bytesMoved: c.bytesMoved,
    blobsCopied: c.blobsCopied,
    blobsSkipped: c.blobsSkipped,
    blobsMounted: c.blobsMounted,
    ...(o.attachments ? { attachments } : {}),
  };
  await step({
    step: 'sign',
    status: 'started',
    bytesDone: c.bytesMoved,
    bytesTotal: c.bytesMoved,
    finished: { step: 'copy', detail: copied },
  });
  const carryFrom = carrySig ? { store: o.policy.sigstoreStore as RegistrySigstoreStore, repository: o.policy.repository } : undefined;
  const prepared = await prepareSignatures(o.signer, o.repository, manifestDigests(verified.graph), o.identity, o.sigstoreStore, carryFrom);
  await step({ step: 'publish', status: 'started', finished: { step: 'sign', detail: { new: prepared.fresh } } });
  return { verified, copied, signatures: await publishSignatures(o.signer, prepared) };
}
