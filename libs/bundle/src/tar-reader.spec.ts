import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { craftTar, tarEntry, TAR_END } from '../../../test/support/tar-craft';
import { readTar } from './tar-reader';

/** Reads a whole tar as the bundle reader does; the chunks come in awkward sizes, as from a decrypting thread. */
async function read(bytes: Buffer, chunk = 777): Promise<{ name: string; data: string }[]> {
  const pieces: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunk) pieces.push(bytes.subarray(i, i + chunk));
  const out: { name: string; data: string }[] = [];
  for await (const e of readTar(Readable.from(pieces))) {
    const parts: Buffer[] = [];
    for await (const c of e.body) parts.push(c);
    out.push({ name: e.name, data: Buffer.concat(parts).toString() });
  }
  return out;
}

const code = (p: Promise<unknown>) =>
  p.then(
    () => 'accepted',
    (e: { code?: string; message?: string }) => e.code ?? e.message,
  );

describe('the strict tar reader', () => {
  const a = { name: 'bundle.json', data: Buffer.from('{"a":1}') };
  const b = { name: 'oci/blobs/sha256/' + 'ab'.repeat(32), data: Buffer.alloc(1500, 7) };

  it('reads what GNU tar writes in ustar and pax formats, the same way GNU tar lists them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tar-spec-'));
    try {
      const long = `signatures/${'team/'.repeat(22)}app@sha256=${'0'.repeat(64)}`;
      mkdirSync(join(dir, 'in', long), { recursive: true });
      writeFileSync(join(dir, 'in', 'bundle.json'), '{"x":true}');
      writeFileSync(join(dir, 'in', long, 'signature-1'), Buffer.alloc(70_000, 3));
      // (GNU's own format writes long names as 'L' entries, which airlock never writes and refuses)
      for (const format of ['ustar', 'pax']) {
        const tar = join(dir, `${format}.tar`);
        execFileSync('tar', [
          '--format',
          format,
          '--no-recursion',
          '-C',
          join(dir, 'in'),
          '-cf',
          tar,
          'bundle.json',
          `${long}/signature-1`,
        ]);
        const got = await read(readFileSync(tar));
        expect(got.map((e) => e.name)).toEqual(execFileSync('tar', ['-tf', tar]).toString().trim().split('\n'));
        expect(got[1].data.length).toBe(70_000);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads a stream ended properly, with zero padding after the end (as GNU tar pads to its record size)', async () => {
    expect(await read(craftTar([a, b], { after: Buffer.alloc(8192) }))).toEqual([
      { name: a.name, data: a.data.toString() },
      { name: b.name, data: b.data.toString() },
    ]);
  });

  it('refuses a stream cut anywhere: in a header, in an entry, in its padding, before or inside the end blocks', async () => {
    const whole = craftTar([a, b]);
    for (const cut of [100, 512 + 5, 1024 + 512 + 1499, 1024 + 512 + 1501, whole.length - 1024, whole.length - 512, whole.length - 1]) {
      expect([cut, await code(read(whole.subarray(0, cut)))]).toEqual([cut, 'BUNDLE_TRUNCATED']);
    }
  });

  it('refuses a last entry that is not followed by the end-of-archive, even when its bytes are whole', async () => {
    expect(await code(read(craftTar([a, b], { end: false })))).toBe('BUNDLE_TRUNCATED');
  });

  it('refuses entries after the end-of-archive, which GNU tar does not list (no two readers see two bundles)', async () => {
    const evil = craftTar([a], { after: tarEntry(b) });
    expect(await code(read(evil))).toBe('BUNDLE_TRAILING_DATA');
    const dir = mkdtempSync(join(tmpdir(), 'tar-spec-'));
    try {
      writeFileSync(join(dir, 'evil.tar'), evil);
      expect(
        execFileSync('tar', ['-tf', join(dir, 'evil.tar')])
          .toString()
          .trim(),
      ).toBe('bundle.json');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // and a lone zero block followed by an entry
    expect(await code(read(Buffer.concat([tarEntry(a), Buffer.alloc(512), tarEntry(b), TAR_END])))).toBe('BUNDLE_TRAILING_DATA');
  });

  it('refuses links, devices, folders and unknown entry types', async () => {
    for (const type of ['1', '2', '3', '4', '5', '6', 'L', 'g', 'S']) {
      expect([type, await code(read(craftTar([a, { name: 'x', data: Buffer.alloc(0), type, linkname: '/etc/passwd' }])))]).toEqual([
        type,
        'BUNDLE_UNSAFE_ENTRY',
      ]);
    }
  });

  it('refuses a header with a wrong checksum or no ustar magic, and pax keys airlock never writes', async () => {
    const bad = craftTar([a]);
    bad[0] ^= 1;
    expect(await code(read(bad))).toBe('BUNDLE_INVALID');
    const v7 = craftTar([a]);
    v7.write('\0\0\0\0\0\0', 257, 'latin1');
    expect(await code(read(v7))).toBe('BUNDLE_INVALID');
    expect(await code(read(craftTar([{ ...a, pax: { linkpath: '/etc/passwd' } }])))).toBe('BUNDLE_UNSAFE_ENTRY');
    expect(await code(read(craftTar([{ ...a, pax: { 'GNU.sparse.map': '0,1' } }])))).toBe('BUNDLE_UNSAFE_ENTRY');
    expect(await code(read(craftTar([{ ...a, pax: { size: '3' } }])))).toBe('BUNDLE_INVALID');
    // a pax path is the entry's name, as GNU tar reads it
    expect((await read(craftTar([{ ...a, pax: { path: 'renamed.json' } }])))[0].name).toBe('renamed.json');
  });
});
