import { ImageReference, ManifestBlob } from '@airlock/oci';
import { BundleAttachment, BundleManifest } from '@airlock/bundle';
import { Channel } from './channels';
import { CarriedEntries } from './bundle-import-v2';
import { VerifiedImage } from './image-pipeline';

/* What an import knows once it has opened and checked a bundle: shared by its checks (bundle-import.ts) and its landing (bundle-land.ts). */

export interface Opened {
  ch: Channel;
  manifest: BundleManifest;
  staging: string;
  sender: string;
  /** A format-2 bundle: its volumes, read entry by entry (blobs are not staged). */
  carried?: CarriedEntries;
}

/** One image of a bundle, every check done: where it goes and what it is made of. */
export interface CheckedImage {
  image: BundleManifest['images'][number];
  dst: ImageReference;
  verified: VerifiedImage;
  /** What the bundle carried attached to this image's manifests, each manifest read (digest-checked) from the layout. */
  attachments: { att: BundleAttachment; manifest: ManifestBlob; blobs: { digest: string; size: number; mediaType: string }[] }[];
}

/** What the checks found: a bundle imported before (nothing to do), or the images to land, and those waiting for volumes not given. */
export interface Plan {
  again: boolean;
  images: CheckedImage[];
  /** Images (their targets) with an entry in a volume not given, and those volumes. */
  waiting: { targets: string[]; volumes: number[] };
}
