import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { closeSync, fsyncSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { once } from 'node:events';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { nativeAddonPath } from './native-addon';
import { ReadOnce } from './read-once';

/** Everything the stream gives, once it has closed (its drops done, its descriptor closed). */
const all = async (r: Readable) => {
  const closed = once(r, 'close').catch(() => undefined); // an error ends it before close
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  await closed;
  return Buffer.concat(chunks);
};
/** Bytes of the file in the page cache, as util-linux's fincore reads them (mincore). */
const resident = (path: string) => Number(execFileSync('fincore', ['-b', '-n', '-o', 'RES', path]).toString().trim());

describe('ReadOnce', () => {
  let dir: string;
  let file: string;
  const bytes = randomBytes(20 << 20);
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'read-once-'));
    file = join(dir, 'volume');
    const fd = openSync(file, 'w');
    writeSync(fd, bytes);
    fsyncSync(fd); // dirty pages are written back, not dropped: the import reads volumes already on their media
    closeSync(fd);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('gives exactly the bytes of its range, in order, across many pieces', async () => {
    expect((await all(new ReadOnce(file, 12_345, bytes.length - 777))).equals(bytes.subarray(12_345, bytes.length - 777))).toBe(true);
    expect((await all(new ReadOnce(file, 5, 5))).length).toBe(0);
  });

  it('ends where a file shorter than its range ends, as fs.createReadStream does (the size check refuses the entry)', async () => {
    expect((await all(new ReadOnce(file, bytes.length - 100, bytes.length + 4096))).equals(bytes.subarray(bytes.length - 100))).toBe(true);
  });

  it('closes cleanly when its reader stops in the middle, a read in flight', async () => {
    const r = new ReadOnce(file, 0, bytes.length);
    const closed = once(r, 'close');
    const first = (await r[Symbol.asyncIterator]().next()).value as Buffer;
    expect(first.equals(bytes.subarray(0, first.length))).toBe(true);
    r.destroy();
    await closed;
    expect(r.destroyed).toBe(true);
  });

  it('fails with the error of a file that cannot be opened', async () => {
    await expect(all(new ReadOnce(join(dir, 'missing'), 0, 10))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('reads a cold file around the page cache: no page of it is cached while it reads (O_DIRECT, native/page-cache.c)', async () => {
    const cold = join(dir, 'cold');
    const fd = openSync(cold, 'w');
    writeSync(fd, bytes);
    fsyncSync(fd);
    closeSync(fd);
    execFileSync('dd', [`if=${cold}`, 'iflag=nocache', 'count=0', 'status=none']); // drops the file's pages (written back by the fsync)
    expect(resident(cold)).toBe(0);
    const r = new ReadOnce(cold, 777, bytes.length - 5);
    const it = r[Symbol.asyncIterator]();
    const first = (await it.next()).value as Buffer;
    expect(r.direct).toBe(true);
    expect(first.equals(bytes.subarray(777, 777 + first.length))).toBe(true);
    expect(resident(cold)).toBe(0); // read through the cache, the first MiB and the kernel's read-ahead would be in it
    const rest: Buffer[] = [first];
    for (let c = await it.next(); !c.done; c = await it.next()) rest.push(c.value as Buffer);
    expect(Buffer.concat(rest).equals(bytes.subarray(777, bytes.length - 5))).toBe(true);
    expect(resident(cold)).toBe(0);
  });

  it('leaves none of what it read in the page cache (native/page-cache.c, built by npm run build)', async () => {
    expect(nativeAddonPath('page-cache.node')).toBeDefined();
    readFileSync(file);
    expect(resident(file)).toBe(bytes.length);
    await all(new ReadOnce(file, 0, 8 << 20));
    // the first 8 MiB dropped, the rest still cached
    expect(resident(file)).toBe(bytes.length - (8 << 20));
    // a range that starts and drops inside pages (and inside the page cache's large folios): what it began in goes too
    readFileSync(file);
    await all(new ReadOnce(file, 4096 + 100, bytes.length));
    expect(resident(file)).toBe(0);
  });
});
