/**
 * Where the signatures of an image are kept, whatever the kind of store:
 * a lookaside folder or URL today (simple signing); the registry-attached
 * kinds (cosign tags, OCI referrers) go behind the same interface.
 */
export interface SignatureStore {
  /** Every signature of the image, in order (1, 2, ... up to the first gap). */
  list(repository: string, digest: string): Promise<Buffer[]>;
}

/**
 * Where an image's sigstore signatures are kept: in the registry beside it
 * (the tag form, `sha256-<hex>.sig`). Reading is capped: a signature
 * manifest or payload larger than a few MiB is refused, not read.
 */
export interface SigstoreSignatureStore {
  list(repository: string, digest: string): Promise<import('./sigstore-signature').SigstoreSignature[]>;
}
