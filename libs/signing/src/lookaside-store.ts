import { promises as fs, constants as fsc } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SignatureError } from './errors';
import { signaturePath } from './lookaside-path';
import { SignatureStore } from './signature-store';

const MAX_SIGNATURES = 256;
const MAX_SIGNATURE_BYTES = 1 << 20;

/**
 * A lookaside store in a folder. New signatures take the next free number;
 * each is written to a temporary file, synced, then hard-linked under its
 * final name (which fails rather than overwrite when two writers race), so
 * a reader never sees a partial file or a gap.
 */
export class FileLookasideStore implements SignatureStore {
  constructor(readonly root: string) {}

  /** Absolute path of signature N (or of the image's folder). */
  path(repository: string, digest: string, n?: number): string {
    return join(this.root, signaturePath(repository, digest, n));
  }

  async list(repository: string, digest: string): Promise<Buffer[]> {
    const out: Buffer[] = [];
    for (let n = 1; n <= MAX_SIGNATURES; n++) {
      const b = await this.read(repository, digest, n);
      if (!b) break;
      out.push(b);
    }
    return out;
  }

  /** Signature N, or undefined when there is none. */
  async read(repository: string, digest: string, n: number): Promise<Buffer | undefined> {
    const p = this.path(repository, digest, n);
    try {
      const st = await fs.lstat(p);
      if (!st.isFile() || st.size > MAX_SIGNATURE_BYTES) return undefined;
      return await fs.readFile(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
      throw new SignatureError('LOOKASIDE_UNAVAILABLE', `cannot read ${p}: ${(e as Error).message}`);
    }
  }

  /** Adds a signature under the next free number and returns that number. */
  async add(repository: string, digest: string, signature: Uint8Array): Promise<number> {
    if (signature.length === 0 || signature.length > MAX_SIGNATURE_BYTES)
      throw new SignatureError('SIGNATURE_FORMAT', 'signature is empty or larger than 1 MiB');
    const dir = this.path(repository, digest);
    await fs.mkdir(dir, { recursive: true });
    const tmp = join(dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    const fh = await fs.open(tmp, fsc.O_CREAT | fsc.O_EXCL | fsc.O_WRONLY, 0o644);
    try {
      await fh.writeFile(signature);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      for (let n = 1; n <= MAX_SIGNATURES; n++) {
        try {
          await fs.link(tmp, join(dir, `signature-${n}`));
          await syncDir(dir);
          return n;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        }
      }
      throw new SignatureError('LOOKASIDE_INVALID', `image ${repository}@${digest} already has ${MAX_SIGNATURES} signatures`);
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }

  /** Adds the signature unless the same bytes are already stored; returns its number either way. */
  async addOnce(repository: string, digest: string, signature: Uint8Array): Promise<{ n: number; added: boolean }> {
    const existing = await this.list(repository, digest);
    const i = existing.findIndex((b) => b.equals(Buffer.from(signature)));
    if (i >= 0) return { n: i + 1, added: false };
    return { n: await this.add(repository, digest, signature), added: true };
  }
}

async function syncDir(dir: string): Promise<void> {
  const d = await fs.open(dir, fsc.O_RDONLY);
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
