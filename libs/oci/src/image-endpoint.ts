import { Readable } from 'node:stream';
import { Descriptor, ManifestBlob } from './manifest';
import { ManifestSource } from './image-walk';
import { RetryPolicy } from './retry';

export type BlobOutcome = 'copied' | 'skipped' | 'mounted';

/** A repository of a registry, named for blob mounts between repositories of one registry. */
export interface RegistryLocation {
  registry: string;
  repository: string;
}

/** Where an image can be read from: a registry repository or an OCI image layout. */
export interface ImageSource extends ManifestSource {
  readonly label: string;
  /** Set for a registry repository: a destination on the same registry can mount its blobs instead of copying them. */
  readonly location?: RegistryLocation;
  openBlob(digest: string): Promise<{ body: Readable; size?: number }>;
}

export interface BlobWriteOptions {
  retry?: RetryPolicy;
  /** Blobs up to this size go in one request; larger ones stream. */
  monolithicMaxBytes?: number;
  /** A repository of the destination's registry known to hold the blob (mount source). */
  mountFrom?: string;
  /** Bytes read from the source (negative when a restarted attempt takes them back). */
  onBytes?: (delta: number) => void;
}

/** Where an image can be written to: a registry repository or an OCI image layout. */
export interface ImageDestination {
  readonly label: string;
  readonly location?: RegistryLocation;
  /** The digest a tag or digest names now, or undefined when there is none. */
  manifestDigest(selector: string): Promise<string | undefined>;
  /** Writes manifest bytes unchanged under a tag or their digest. */
  putManifest(selector: string, m: ManifestBlob): Promise<void>;
  /**
   * Writes one blob from `open` (skipped when present, mounted where the
   * destination can), its digest and size checked on the fly: a mismatch
   * leaves nothing under the blob's name.
   */
  putBlob(d: Descriptor, open: () => Promise<{ body: Readable; size?: number }>, o: BlobWriteOptions): Promise<BlobOutcome>;
}
