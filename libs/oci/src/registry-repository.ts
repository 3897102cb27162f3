import { Readable } from 'node:stream';
import { Descriptor, ManifestBlob } from './manifest';
import { RegistryClient } from './registry-client';
import { BlobOutcome, BlobWriteOptions, ImageDestination, ImageSource, RegistryLocation } from './image-endpoint';
import { copyBlob } from './blob-copy';

/** A repository of a registry as an image source and destination. */
export class RegistryRepository implements ImageSource, ImageDestination {
  readonly location: RegistryLocation;

  constructor(
    readonly client: RegistryClient,
    readonly repository: string,
  ) {
    this.location = { registry: client.registry, repository };
  }

  get label(): string {
    return `${this.client.registry}/${this.repository}`;
  }

  getManifest(digest: string): Promise<ManifestBlob> {
    return this.client.getManifest(this.repository, digest);
  }

  openBlob(digest: string): Promise<{ body: Readable; size?: number }> {
    return this.client.openBlob(this.repository, digest);
  }

  async manifestDigest(selector: string): Promise<string | undefined> {
    const h = await this.client.headManifest(this.repository, selector);
    return h ? (h.digest ?? selector) : undefined;
  }

  putManifest(selector: string, m: ManifestBlob): Promise<void> {
    return this.client.putManifest(this.repository, selector, m);
  }

  putBlob(d: Descriptor, open: () => Promise<{ body: Readable; size?: number }>, o: BlobWriteOptions): Promise<BlobOutcome> {
    return copyBlob({ open, dst: this.client, dstRepository: this.repository, mountFrom: o.mountFrom }, d, o);
  }
}
