import { createHash, Hash } from 'node:crypto';
import { promises as fs, constants as fsc } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';

/** One written volume. */
export interface VolumeInfo {
  name: string;
  size: number;
  /** Format 1's volumes only: a format-2 volume is checked entry by entry against the signed index. */
  sha256?: string;
}

/**
 * Splits a byte stream into volume files of at most `maxBytes`, each written
 * under a temporary name and synced; `commit()` renames them all into place
 * (so a failure, a full disk included, leaves no file under a final name).
 */
export class VolumeWriter extends Writable {
  readonly volumes: (VolumeInfo & { tmp: string })[] = [];
  private fh?: fs.FileHandle;
  private cur?: { name: string; tmp: string; size: number; hash: Hash };
  private total = 0;

  constructor(
    private readonly dir: string,
    private readonly baseName: string,
    private readonly maxBytes: number,
  ) {
    super({ highWaterMark: 1 << 20 });
  }

  get bytes(): number {
    return this.total;
  }

  private async open(): Promise<void> {
    const n = this.volumes.length + 1;
    const name = `${this.baseName}.${String(n).padStart(3, '0')}`;
    const tmp = join(this.dir, `.${name}.tmp-${process.pid}`);
    this.fh = await fs.open(tmp, fsc.O_CREAT | fsc.O_EXCL | fsc.O_WRONLY, 0o644);
    this.cur = { name, tmp, size: 0, hash: createHash('sha256') };
  }

  private async close(): Promise<void> {
    if (!this.fh || !this.cur) return;
    await this.fh.sync();
    await this.fh.close();
    this.volumes.push({ name: this.cur.name, tmp: this.cur.tmp, size: this.cur.size, sha256: this.cur.hash.digest('hex') });
    this.fh = undefined;
    this.cur = undefined;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.writeChunk(chunk).then(() => cb(), cb);
  }

  private async writeChunk(chunk: Buffer): Promise<void> {
    let off = 0;
    while (off < chunk.length) {
      if (!this.cur) await this.open();
      const room = this.maxBytes - (this.cur as { size: number }).size;
      const part = chunk.subarray(off, off + room);
      await (this.fh as fs.FileHandle).write(part);
      this.cur!.hash.update(part);
      this.cur!.size += part.length;
      this.total += part.length;
      off += part.length;
      if (this.cur!.size >= this.maxBytes) await this.close();
    }
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.close().then(() => cb(), cb);
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    const fh = this.fh;
    this.fh = undefined;
    // a normal end auto-destroys too: only an unfinished or failed writer throws its files away
    const failed = !!err || !this.writableFinished;
    Promise.resolve(fh?.close())
      .catch(() => undefined)
      .then(() => (failed ? this.discard() : undefined))
      .then(
        () => cb(err),
        () => cb(err),
      );
  }

  /** Removes every temporary file (after a failure). */
  async discard(): Promise<void> {
    const tmps = [...this.volumes.map((v) => v.tmp), ...(this.cur ? [this.cur.tmp] : [])];
    await Promise.all(tmps.map((t) => fs.rm(t, { force: true })));
  }

  /** Renames every volume to its final name and syncs the folder. */
  async commit(): Promise<VolumeInfo[]> {
    for (const v of this.volumes) await fs.rename(v.tmp, join(this.dir, v.name));
    const d = await fs.open(this.dir, fsc.O_RDONLY);
    await d.sync();
    await d.close();
    return this.volumes.map(({ name, size, sha256 }) => ({ name, size, sha256 }));
  }
}
