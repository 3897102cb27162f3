import { createHash, Hash } from 'node:crypto';
import { Transform, TransformCallback } from 'node:stream';
import { RegistryError } from './errors';
import { digestAlgorithm } from './digest';

/**
 * Passes bytes through while hashing them, and holds back the last chunk
 * until the digest and size are confirmed: a receiver never gets the whole
 * of a blob whose bytes do not match its digest.
 */
export class DigestVerifier extends Transform {
  private readonly hash: Hash;
  private held?: Buffer;
  private seen = 0;

  constructor(
    private readonly expectedDigest: string,
    private readonly expectedSize: number | undefined,
    private readonly onBytes?: (n: number) => void,
  ) {
    super({ highWaterMark: 1 << 20 });
    this.hash = createHash(digestAlgorithm(expectedDigest));
  }

  /** Bytes that passed through so far. */
  get bytes(): number {
    return this.seen;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length;
    if (this.expectedSize !== undefined && this.seen > this.expectedSize) {
      cb(this.mismatch(`more than the ${this.expectedSize} bytes its descriptor states`));
      return;
    }
    this.hash.update(chunk);
    this.onBytes?.(chunk.length);
    const prev = this.held;
    this.held = chunk;
    if (prev) this.push(prev);
    cb();
  }

  override _flush(cb: TransformCallback): void {
    if (this.expectedSize !== undefined && this.seen !== this.expectedSize) {
      cb(this.mismatch(`${this.seen} bytes, not the ${this.expectedSize} its descriptor states`));
      return;
    }
    const got = `${digestAlgorithm(this.expectedDigest)}:${this.hash.digest('hex')}`;
    if (got !== this.expectedDigest) {
      cb(this.mismatch(`bytes that hash to ${got}`));
      return;
    }
    if (this.held) this.push(this.held);
    cb();
  }

  private mismatch(what: string): RegistryError {
    return new RegistryError('BLOB_DIGEST_MISMATCH', `blob ${this.expectedDigest} arrived as ${what}; nothing was pushed`, {
      digest: this.expectedDigest,
    });
  }
}
