import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RegistryError } from './errors';
import { Descriptor, ManifestBlob, parseManifest } from './manifest';
import { digestLike } from './digest';
import { DigestVerifier } from './digest-verifier';
import { BlobOutcome, BlobWriteOptions, ImageDestination, ImageSource } from './image-endpoint';

/** Where an OCI image layout keeps a blob. */
export function layoutBlobPath(layoutDir: string, digest: string): string {
  const [algo, hex] = digest.split(':');
  return join(layoutDir, 'blobs', algo, hex);
}

/** An image listed in a layout's index.json. */
export interface LayoutImageEntry {
  digest: string;
  mediaType: string;
  size: number;
  annotations?: Record<string, string>;
}

/** The two files besides the blobs that make a folder an OCI image layout: `oci-layout` and `index.json` listing `images`. */
export function layoutFiles(images: LayoutImageEntry[]): { 'oci-layout': Buffer; 'index.json': Buffer } {
  return {
    'oci-layout': Buffer.from('{"imageLayoutVersion":"1.0.0"}'),
    'index.json': Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: images }),
    ),
  };
}

const REF_NAME = 'org.opencontainers.image.ref.name';

/**
 * An OCI image layout in a folder, as an image source (manifests by digest,
 * their bytes checked; blobs as streams; a blob's presence, of the size its
 * descriptor says) and as a destination (blobs and manifests written under
 * a temporary name and renamed once their digest is confirmed; a tag is an
 * entry of index.json named by `org.opencontainers.image.ref.name`). It
 * never follows a path out of its folder: a digest is validated before it
 * names a file.
 */
export class OciLayout implements ImageSource, ImageDestination {
  constructor(readonly dir: string) {}

  get label(): string {
    return `oci:${this.dir}`;
  }

  async getManifest(digest: string): Promise<ManifestBlob> {
    const bytes = await fs.readFile(this.path(digest)).catch(() => {
      throw new RegistryError('BLOB_UNKNOWN', `manifest ${digest} is not in the layout`);
    });
    if (digestLike(digest, bytes) !== digest)
      throw new RegistryError('BLOB_DIGEST_MISMATCH', `manifest ${digest} in the layout does not match its digest`);
    return { bytes, mediaType: parseManifest(bytes).mediaType, digest };
  }

  /** True when the layout holds the blob; a blob of another size than its descriptor is a mismatch. */
  async hasBlob(d: Descriptor): Promise<boolean> {
    const st = await fs.stat(this.path(d.digest)).catch(() => undefined);
    if (st && st.size !== d.size)
      throw new RegistryError('BLOB_DIGEST_MISMATCH', `blob ${d.digest} in the layout has ${st.size} bytes, its manifest says ${d.size}`);
    return !!st;
  }

  async openBlob(digest: string): Promise<{ body: Readable; size?: number }> {
    const path = this.path(digest);
    const st = await fs.stat(path).catch(() => undefined);
    if (!st) throw new RegistryError('BLOB_UNKNOWN', `blob ${digest} is not in the layout`);
    return { body: createReadStream(path, { highWaterMark: 1 << 20 }), size: st.size };
  }

  async manifestDigest(selector: string): Promise<string | undefined> {
    if (selector.includes(':')) return (await fs.stat(this.path(selector)).catch(() => undefined)) ? selector : undefined;
    return (await this.index()).find((m) => m.annotations?.[REF_NAME] === selector)?.digest;
  }

  async putManifest(selector: string, m: ManifestBlob): Promise<void> {
    if (digestLike(m.digest, m.bytes) !== m.digest)
      throw new RegistryError('BLOB_DIGEST_MISMATCH', `manifest bytes do not match ${m.digest}`);
    await this.writeAtomically(this.path(m.digest), async (tmp) => fs.writeFile(tmp, m.bytes));
    if (selector.includes(':')) return;
    const entry: LayoutImageEntry = {
      mediaType: m.mediaType,
      digest: m.digest,
      size: m.bytes.length,
      annotations: { [REF_NAME]: selector },
    };
    const images = [...(await this.index()).filter((x) => x.annotations?.[REF_NAME] !== selector), entry];
    const files = layoutFiles(images);
    await this.writeAtomically(join(this.dir, 'oci-layout'), (tmp) => fs.writeFile(tmp, files['oci-layout']));
    await this.writeAtomically(join(this.dir, 'index.json'), (tmp) => fs.writeFile(tmp, files['index.json']));
  }

  async putBlob(d: Descriptor, open: () => Promise<{ body: Readable; size?: number }>, o: BlobWriteOptions): Promise<BlobOutcome> {
    if (await this.hasBlob(d)) return 'skipped';
    const { body } = await open();
    let sent = 0;
    try {
      await this.writeAtomically(this.path(d.digest), (tmp) =>
        pipeline(
          body,
          new DigestVerifier(d.digest, d.size, (n) => {
            sent += n;
            o.onBytes?.(n);
          }),
          createWriteStream(tmp),
        ),
      );
    } catch (e) {
      if (sent) o.onBytes?.(-sent);
      throw e;
    }
    return 'copied';
  }

  private async index(): Promise<LayoutImageEntry[]> {
    try {
      const doc = JSON.parse(await fs.readFile(join(this.dir, 'index.json'), 'utf8')) as { manifests?: LayoutImageEntry[] };
      return Array.isArray(doc.manifests) ? doc.manifests : [];
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new RegistryError('MANIFEST_INVALID', `${join(this.dir, 'index.json')} is not an OCI index: ${(e as Error).message}`);
    }
  }

  /** Writes `path` through a temporary file in its folder, renamed only once `write` succeeded. */
  private async writeAtomically(path: string, write: (tmp: string) => Promise<unknown>): Promise<void> {
    await fs.mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      await write(tmp);
      await fs.rename(tmp, path);
    } catch (e) {
      await fs.rm(tmp, { force: true });
      throw e;
    }
  }

  private path(digest: string): string {
    if (!/^sha256:[a-f0-9]{64}$/.test(digest))
      throw new RegistryError('INVALID_DIGEST', `not a digest: ${JSON.stringify(digest.slice(0, 80))}`);
    return layoutBlobPath(this.dir, digest);
  }
}
