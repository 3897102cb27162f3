import { close, constants, open, read as readBuffered } from 'node:fs';
import { Readable } from 'node:stream';
import { canReadDirect, dropPages, readDirect } from './page-cache';

const CHUNK = 1 << 20;
const DROP_EVERY = 8 << 20;
const FOLIO = 2 << 20;

/**
 * The bytes [start, end) of a file, read once in 1 MiB pieces around the
 * page cache (page-cache.ts): an import reads each byte of a volume once,
 * and the registry it pushes to writes as many. The file is opened with
 * O_DIRECT and read through native/page-cache.c, so the kernel makes no
 * page of cache for it: on a machine whose free memory goes back to its
 * hypervisor (this one: free page reporting) every page it makes is fresh
 * memory fetched from the host, and a cold GiB read through the cache costs
 * 2.6-3.1 s of CPU against 0.1 s direct. Pages cached all the same (a
 * volume just written or uploaded, or a file system without O_DIRECT, read
 * the ordinary way) are dropped behind the reader every 8 MiB and at the
 * end: kept, a 4 GiB bundle's pages push out what the machine caches for
 * everything else. A file shorter than `end` ends the stream early, as
 * fs.createReadStream does: the entry's size check refuses it.
 */
export class ReadOnce extends Readable {
  private fd = -1;
  /** Whether the descriptor is O_DIRECT (the addon built, and the file system takes it). */
  direct = false;
  private at: number;
  private dropped: number;
  /** The read and the drops under way: the descriptor closes once they are done. */
  private reading: Promise<unknown> = Promise.resolve();
  private dropping: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly path: string,
    start: number,
    private readonly end: number,
  ) {
    super({ highWaterMark: CHUNK });
    this.at = this.dropped = start;
  }

  override _construct(done: (err?: Error | null) => void): void {
    const opened = (err: Error | null, fd: number) => {
      if (err) return done(err);
      this.fd = fd;
      done();
    };
    if (!canReadDirect()) return open(this.path, 'r', opened);
    open(this.path, constants.O_RDONLY | constants.O_DIRECT, (err, fd) => {
      if ((err as NodeJS.ErrnoException | null)?.code !== 'EINVAL') {
        this.direct = !err;
        return opened(err, fd);
      }
      open(this.path, 'r', opened); // tmpfs and others without O_DIRECT
    });
  }

  override _read(): void {
    const n = Math.min(CHUNK, this.end - this.at);
    if (n <= 0) {
      this.push(null);
      return;
    }
    const b = Buffer.allocUnsafe(n);
    const read = this.direct
      ? readDirect(this.fd, b, this.at)
      : new Promise<number>((ok, fail) => readBuffered(this.fd, b, 0, n, this.at, (err, got) => (err ? fail(err) : ok(got))));
    this.reading = read.then(
      (got) => this.got(b, got),
      (err: Error) => this.destroyed || this.destroy(err),
    );
  }

  private got(b: Buffer, got: number): void {
    if (this.destroyed) return;
    if (got === 0) {
      this.dropBehind();
      this.push(null);
      return;
    }
    this.at += got;
    if (this.at === this.end || this.at - this.dropped >= DROP_EVERY) this.dropBehind();
    this.push(got < b.length ? b.subarray(0, got) : b);
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    if (this.fd < 0) return done(err);
    this.dropBehind();
    const fd = this.fd;
    this.fd = -1;
    void Promise.all([this.reading, this.dropping]).then(() => close(fd, () => done(err)));
  }

  /**
   * From the 2 MiB boundary at or before `dropped`: the kernel drops only the
   * folios wholly inside a range, and a folio of the page cache is up to
   * 2 MiB, aligned to its size; so a range that began inside one would keep
   * it. Bytes before `dropped` were read already, or belong to an entry
   * before this one, read once too.
   */
  private dropBehind(): void {
    const from = this.dropped - (this.dropped % FOLIO);
    const drop = dropPages(this.fd, from, this.at - from).catch(() => false);
    this.dropping = Promise.all([this.dropping, drop]);
    this.dropped = this.at;
  }
}
