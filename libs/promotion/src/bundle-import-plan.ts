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

/** What `bundle inspect` says of a bundle. */
export interface InspectResult {
  /** What the files say before anything is verified, completed from the signed index when it verified (format 2). */
  bundle: {
    format: 1 | 2;
    channel: string;
    sequence: number;
    id?: string;
    volumes?: number;
    missing?: number[];
    verifiedBytes?: number;
    otherBundles?: string[];
  };
  manifest?: BundleManifest;
  wouldImport: boolean;
  alreadyImported?: boolean;
  problem?: { code: string; message: string };
}

/** What an import did: the bundle, its images as landed, and the receipt written. */
export interface ImportResult {
  bundleId: string;
  channel: string;
  sequence: number;
  images: { promotionId: string; target: string; digest: string }[];
  receipt: string;
  alreadyImported: boolean;
}
