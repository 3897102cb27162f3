import { mkdtempSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileLookasideStore } from './lookaside-store';
import { parseSignaturePath, signaturePath } from './lookaside-path';

const D = 'sha256:' + '3d'.repeat(32);

describe('lookaside paths', () => {
  it('follows the containers/image layout, nested repositories keep their slashes', () => {
    expect(signaturePath('team/app', D, 1)).toBe(`team/app@sha256=${'3d'.repeat(32)}/signature-1`);
    expect(signaturePath('a/b/c', D, 12)).toBe(`a/b/c@sha256=${'3d'.repeat(32)}/signature-12`);
    expect(parseSignaturePath(`a/b/c@sha256=${'3d'.repeat(32)}/signature-3`)).toEqual({ repository: 'a/b/c', digest: D, n: 3 });
  });
  it.each(['../etc', 'a/../../b', '/abs', 'a//b', 'A/b', 'a/.hidden', ''])('refuses the repository %j', (repo) => {
    expect(() => signaturePath(repo, D, 1)).toThrow(expect.objectContaining({ code: 'LOOKASIDE_INVALID' }));
  });
  it.each(['sha256:../x', 'sha256:abc', 'md5:' + 'a'.repeat(32)])('refuses the digest %j', (d) => {
    expect(() => signaturePath('a/b', d, 1)).toThrow(expect.objectContaining({ code: 'INVALID_DIGEST' }));
  });
  it.each([
    `../x@sha256=${'3d'.repeat(32)}/signature-1`,
    `a@sha256=${'3d'.repeat(32)}/signature-0`,
    `a@sha256=${'3d'.repeat(32)}/signature-01`,
    `a@sha256=${'3d'.repeat(32)}/../signature-1`,
    `a@sha256=abc/signature-1`,
  ])('does not parse %j', (p) => expect(parseSignaturePath(p)).toBeUndefined());
});

describe('FileLookasideStore', () => {
  let root: string;
  beforeEach(() => (root = mkdtempSync(join(tmpdir(), 'airlock-lookaside-'))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('numbers signatures 1, 2, ... and lists them in order', async () => {
    const s = new FileLookasideStore(root);
    expect(await s.list('team/app', D)).toEqual([]);
    expect(await s.add('team/app', D, Buffer.from('one'))).toBe(1);
    expect(await s.add('team/app', D, Buffer.from('two'))).toBe(2);
    expect((await s.list('team/app', D)).map(String)).toEqual(['one', 'two']);
    expect(existsSync(join(root, `team/app@sha256=${'3d'.repeat(32)}/signature-2`))).toBe(true);
  });

  it('never overwrites or leaves a gap when writers race, and leaves no temporary files', async () => {
    const s = new FileLookasideStore(root);
    const ns = await Promise.all(Array.from({ length: 20 }, (_, i) => s.add('r', D, Buffer.from(`sig${i}`))));
    expect([...ns].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(new Set((await s.list('r', D)).map(String)).size).toBe(20);
    expect(readdirSync(s.path('r', D)).filter((f) => f.startsWith('.tmp'))).toEqual([]);
  });

  it('adds the same bytes once', async () => {
    const s = new FileLookasideStore(root);
    expect(await s.addOnce('r', D, Buffer.from('x'))).toEqual({ n: 1, added: true });
    expect(await s.addOnce('r', D, Buffer.from('x'))).toEqual({ n: 1, added: false });
    expect(await s.addOnce('r', D, Buffer.from('y'))).toEqual({ n: 2, added: true });
  });
});
