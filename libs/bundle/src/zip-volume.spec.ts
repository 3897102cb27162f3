import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { writeZipVolume } from './zip-volume';

describe('zip volumes as archiver writes them', () => {
  it('computes CRC-32 as the crc-32 package does (zlib for it): the same values chunk after chunk, from a Buffer seed (crc32-stream’s first call) as from 0', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const js = (require('crc-32') as { buf(d: Uint8Array, s?: unknown): number; native?: boolean }).buf;
    const chunks = [randomBytes(1), randomBytes(1000), randomBytes(65536), Buffer.alloc(0), randomBytes(3)];
    let a: unknown = Buffer.alloc(4);
    let b = 0;
    for (const c of chunks) {
      a = js(c, a);
      b = crc32(c, b >>> 0) | 0;
      expect(b).toBe(a);
    }
  });

  it('writes volumes stock unzip tests clean (every CRC, streamed entries with data descriptors)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zipvol-'));
    try {
      const file = join(dir, 'v.zip');
      const parts = [randomBytes(5), randomBytes(3 << 20), Buffer.alloc(0), randomBytes(70_000)];
      async function* entries() {
        yield { name: 'index.pgp', body: Readable.from([parts[0]]) };
        for (const [i, p] of parts.slice(1).entries())
          yield { name: `e/00000${i + 1}`, body: Readable.from([p.subarray(0, 1000), p.subarray(1000)]) };
      }
      await writeZipVolume(file, entries());
      expect(execFileSync('unzip', ['-tq', file]).toString()).toMatch(/No errors detected/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
