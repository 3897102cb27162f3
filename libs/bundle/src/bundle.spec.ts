import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  writeFileSync,
  readFileSync,
  existsSync,
  truncateSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import * as openpgp from 'openpgp';
import { pack as tarPack } from 'tar-stream';

type Headers = Record<string, unknown> & { name: string };
import { BUNDLE_FORMAT, BundleManifest } from './bundle-manifest';
import { writeBundle } from './bundle-writer';
import { checkVolumes, openBundle } from './bundle-reader';
import { VolumeWriter } from './volume-writer';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
async function key(name: string) {
  const { privateKey } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'ed25519Legacy',
    userIDs: [{ name }],
    format: 'object',
    config: { v6Keys: false },
  });
  return privateKey;
}

describe('transfer bundles', () => {
  let dir: string;
  let sender: openpgp.PrivateKey;
  let importer: openpgp.PrivateKey;
  let stranger: openpgp.PrivateKey;
  beforeAll(async () => {
    [sender, importer, stranger] = await Promise.all([key('sender'), key('importer'), key('stranger')]);
  });
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'airlock-bundle-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const blobs = () => {
    const a = randomBytes(300_000);
    const b = randomBytes(1000);
    return new Map([
      [`oci/blobs/sha256/${sha(a)}`, a],
      [`oci/blobs/sha256/${sha(b)}`, b],
      ['oci/oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}')],
    ]);
  };
  const manifestFor = (content: Map<string, Buffer>, over: Partial<BundleManifest> = {}): BundleManifest => ({
    format: BUNDLE_FORMAT,
    id: randomUUID(),
    channel: 'qa-to-prod',
    source: 'qa',
    target: 'prod',
    sequence: 1,
    created: new Date().toISOString(),
    expires: new Date(Date.now() + 3600_000).toISOString(),
    sender: sender.getFingerprint().toUpperCase(),
    full: true,
    images: [
      {
        promotionId: randomUUID(),
        source: 'qa.example/team/app:1',
        target: 'prod.example/team/app:1',
        digest: 'sha256:' + 'a'.repeat(64),
        mediaType: 'x',
        requester: 'alice',
        reason: '',
        requestedAt: new Date().toISOString(),
        approvals: [],
      },
    ],
    entries: [...content].map(([name, b]) => ({ name, size: b.length, sha256: sha(b) })),
    ...over,
  });
  const write = async (content: Map<string, Buffer>, m = manifestFor(content), opts: { encrypt?: boolean; volume?: number } = {}) =>
    writeBundle({
      manifest: m,
      open: async (e) => Readable.from([content.get(e.name) as Buffer]),
      signingKey: sender,
      encryptTo: opts.encrypt === false ? undefined : [importer.toPublic()],
      outDir: join(dir, 'out'),
      maxVolumeBytes: opts.volume ?? 100_000,
    });
  const read = async (files: string[], trusted = [sender.toPublic()]) => {
    const { index, volumes } = await checkVolumes(files, { hash: false });
    return (
      await openBundle(volumes, index, {
        staging: join(dir, 'staging'),
        trustedSenders: trusted,
        decryptionKeys: [importer],
        requireEncrypted: false,
      })
    ).manifest;
  };
  const code = (p: Promise<unknown>) =>
    p.then(
      () => 'OK',
      (e) => e.code ?? String(e),
    );
  const outFiles = () => readdirSync(join(dir, 'out')).map((f) => join(dir, 'out', f));

  it('writes volumes no larger than asked, and reads back every entry intact (encrypted and not)', async () => {
    for (const encrypt of [true, false]) {
      rmSync(join(dir, 'out'), { recursive: true, force: true });
      rmSync(join(dir, 'staging'), { recursive: true, force: true });
      const content = blobs();
      const r = await write(content, undefined, { encrypt });
      expect(r.volumes.length).toBeGreaterThan(2);
      expect(r.volumes.every((v) => v.size <= 100_000)).toBe(true);
      expect(readdirSync(join(dir, 'out')).filter((f) => f.includes('.tmp'))).toEqual([]);
      const m = await read(outFiles());
      expect(m.entries).toHaveLength(3);
      for (const [name, b] of content) expect(readFileSync(join(dir, 'staging', name)).equals(b)).toBe(true);
    }
  });

  it('refuses a missing or truncated volume, a flipped byte, and an unpinned sender, and leaves nothing extracted', async () => {
    const content = blobs();
    await write(content);
    const files = outFiles();
    const vols = files.filter((f) => /\.\d{3}$/.test(f)).sort();
    const saved = readFileSync(vols[1]);
    rmSync(vols[1]);
    expect(await code(read(files.filter((f) => f !== vols[1])))).toBe('BUNDLE_VOLUME_MISSING');
    writeFileSync(vols[1], saved);
    truncateSync(vols[1], saved.length - 1);
    expect(await code(read(files))).toBe('BUNDLE_VOLUME_CORRUPT');
    writeFileSync(vols[1], saved);
    const flipped = Buffer.from(saved);
    flipped[500] ^= 1;
    writeFileSync(vols[1], flipped);
    expect(await code(read(files))).toBe('BUNDLE_VOLUME_CORRUPT');
    // the index rewritten to match the flipped volume: the OpenPGP integrity check catches it
    const idx = files.find((f) => f.endsWith('.volumes.json')) as string;
    const index = JSON.parse(readFileSync(idx, 'utf8'));
    index.volumes[1].sha256 = sha(flipped);
    writeFileSync(idx, JSON.stringify(index));
    expect(await code(read(files))).toBe('BUNDLE_CORRUPT');
    expect(existsSync(join(dir, 'staging'))).toBe(false);
    writeFileSync(vols[1], saved);
    index.volumes[1].sha256 = sha(saved);
    writeFileSync(idx, JSON.stringify(index));
    expect(await code(read(files, [stranger.toPublic()]))).toBe('BUNDLE_UNTRUSTED_SENDER');
    expect(await code(read(files))).toBe('OK');
  });

  it('answers with a code, and leaves nothing extracted, when a volume goes away while it is being read', async () => {
    await write(blobs());
    const { index, volumes } = await checkVolumes(outFiles(), { hash: false });
    rmSync(volumes[volumes.length - 1]);
    const staging = join(dir, 'staging');
    expect(
      await code(
        openBundle(volumes, index, { staging, trustedSenders: [sender.toPublic()], decryptionKeys: [importer], requireEncrypted: true }),
      ),
    ).toBe('BUNDLE_INVALID');
    expect(existsSync(staging)).toBe(false);
  });

  /** A hostile tar, properly signed and encrypted by the pinned sender: only the extraction rules stand in its way. */
  async function sealTar(entries: { header: Headers; body?: Buffer }[], signer = sender): Promise<string[]> {
    const tar = tarPack();
    for (const e of entries) tar.entry(e.header, (e.body ?? Buffer.alloc(0)) as never);
    tar.finalize();
    const chunks: Buffer[] = [];
    for await (const c of tar as unknown as AsyncIterable<Buffer>) chunks.push(c);
    const message = await openpgp.createMessage({ binary: Buffer.concat(chunks) });
    const enc = await openpgp.encrypt({ message, encryptionKeys: importer.toPublic(), signingKeys: signer, format: 'binary' });
    const w = new VolumeWriter(join(dir), 'evil.pgp', 1 << 30);
    await new Promise<void>((res, rej) => w.end(Buffer.from(enc as Uint8Array), (e?: Error | null) => (e ? rej(e) : res())));
    const vols = await w.commit();
    writeFileSync(
      join(dir, 'evil.volumes.json'),
      JSON.stringify({ format: 'airlock-bundle-volumes/v1', id: 'x', channel: 'c', sequence: 1, encrypted: true, volumes: vols }),
    );
    return [join(dir, 'evil.volumes.json'), ...vols.map((v) => join(dir, v.name))];
  }

  const ok = Buffer.from('hello');
  const okName = `oci/blobs/sha256/${sha(ok)}`;
  const mf = (names: { name: string; body: Buffer }[]) =>
    Buffer.from(JSON.stringify(manifestFor(new Map(names.map((n) => [n.name, n.body])))));

  it.each([
    ['../x', 'BUNDLE_UNSAFE_ENTRY'],
    ['/etc/x', 'BUNDLE_UNSAFE_ENTRY'],
    ['C:\\x', 'BUNDLE_UNSAFE_ENTRY'],
    ['..\\x', 'BUNDLE_UNSAFE_ENTRY'],
    ['../staging-evil/x', 'BUNDLE_UNSAFE_ENTRY'],
    ['oci/blobs/sha256/../../../x', 'BUNDLE_UNSAFE_ENTRY'],
  ])('refuses the entry name %j', async (name, want) => {
    const files = await sealTar([
      { header: { name: 'bundle.json', size: 0 }, body: mf([{ name: okName, body: ok }]) },
      { header: { name }, body: ok },
    ]);
    expect(await code(read(files))).toBe(want);
    expect(existsSync(join(dir, 'x'))).toBe(false);
    expect(existsSync(join(dir, 'staging-evil'))).toBe(false);
  });

  it('names an unpinned sender before what its tar holds (the signature comes at the end of the one pass)', async () => {
    const files = await sealTar(
      [
        { header: { name: 'bundle.json' }, body: mf([{ name: okName, body: ok }]) },
        { header: { name: '../x' }, body: ok },
      ],
      stranger,
    );
    expect(await code(read(files))).toBe('BUNDLE_UNTRUSTED_SENDER');
    expect(existsSync(join(dir, 'staging'))).toBe(false);
  });

  it.each([
    ['a symlink', { name: okName, type: 'symlink', linkname: '/etc/passwd' }],
    ['a hardlink', { name: okName, type: 'link', linkname: 'bundle.json' }],
    ['a device', { name: okName, type: 'character-device', devmajor: 1, devminor: 3 }],
    ['a directory', { name: 'oci/blobs', type: 'directory' }],
  ])('refuses %s', async (_n, header) => {
    const files = await sealTar([{ header: { name: 'bundle.json' }, body: mf([{ name: okName, body: ok }]) }, { header }]);
    expect(await code(read(files))).toBe('BUNDLE_UNSAFE_ENTRY');
  });

  it('refuses duplicates, case collisions, unlisted entries, lying sizes and digests, and a missing bundle.json', async () => {
    const other = Buffer.from('other');
    const otherName = `oci/blobs/sha256/${sha(other)}`;
    const cases: [string, { header: Headers; body?: Buffer }[]][] = [
      [
        'BUNDLE_UNSAFE_ENTRY',
        [
          { header: { name: 'bundle.json' }, body: mf([{ name: okName, body: ok }]) },
          { header: { name: okName }, body: ok },
          { header: { name: okName }, body: ok },
        ],
      ],
      [
        'BUNDLE_ENTRY_UNLISTED',
        [
          { header: { name: 'bundle.json' }, body: mf([{ name: okName, body: ok }]) },
          { header: { name: okName }, body: ok },
          { header: { name: otherName }, body: other },
        ],
      ],
      [
        'BUNDLE_DIGEST_MISMATCH',
        [
          { header: { name: 'bundle.json' }, body: mf([{ name: okName, body: ok }]) },
          { header: { name: okName }, body: Buffer.from('hellp') },
        ],
      ],
      [
        'BUNDLE_DIGEST_MISMATCH',
        [
          { header: { name: 'bundle.json' }, body: mf([{ name: okName, body: ok }]) },
          { header: { name: okName }, body: Buffer.from('hello world') },
        ],
      ],
      [
        'BUNDLE_INCOMPLETE',
        [
          {
            header: { name: 'bundle.json' },
            body: mf([
              { name: okName, body: ok },
              { name: otherName, body: other },
            ]),
          },
          { header: { name: okName }, body: ok },
        ],
      ],
      ['BUNDLE_INVALID', [{ header: { name: okName }, body: ok }]],
      ['BUNDLE_INVALID', [{ header: { name: 'bundle.json' }, body: Buffer.from('{"format":"airlock-bundle/v1"}') }]],
    ];
    for (const [want, entries] of cases) {
      rmSync(join(dir, 'staging'), { recursive: true, force: true });
      expect([want, await code(read(await sealTar(entries)))]).toEqual([want, want]);
    }
    // names differing only in case, listed in bundle.json
    rmSync(join(dir, 'staging'), { recursive: true, force: true });
    const m = manifestFor(new Map([[okName, ok]]));
    m.entries.push({ ...m.entries[0], name: okName.slice(0, -1) + okName.slice(-1).toUpperCase() });
    expect(
      await code(
        read(
          await sealTar([
            { header: { name: 'bundle.json' }, body: Buffer.from(JSON.stringify(m)) },
            { header: { name: okName }, body: ok },
          ]),
        ),
      ),
    ).toMatch(/BUNDLE_(UNSAFE_ENTRY|INVALID)/);
  });

  it('reports a full disk by its cause, and leaves no volume behind, final or temporary', async () => {
    const small = join(dir, 'small');
    mkdirSync(small);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', small], { stdio: 'ignore' });
    } catch {
      process.stderr.write('full-disk bundle test: cannot mount a tmpfs here; skipped\n');
      return;
    }
    try {
      const a = randomBytes(2_000_000);
      const content = new Map([[`oci/blobs/sha256/${sha(a)}`, a]]);
      const m = manifestFor(content);
      const err = await writeBundle({
        manifest: m,
        open: async (e) => Readable.from([content.get(e.name) as Buffer]),
        signingKey: sender,
        encryptTo: [importer.toPublic()],
        outDir: small,
        maxVolumeBytes: 100_000,
      }).catch((e) => e);
      expect([err.code, err.message]).toEqual(['BUNDLE_WRITE_FAILED', expect.stringMatching(/no space left/)]);
      expect(readdirSync(small)).toEqual([]);
    } finally {
      execFileSync('umount', [small], { stdio: 'ignore' });
    }
  });

  it('leaves no file under a final name when writing fails midway', async () => {
    const content = blobs();
    const m = manifestFor(content);
    m.entries[0].sha256 = 'f'.repeat(64); // the content will not match: the writer aborts
    expect(await code(write(content, m))).toBe('BUNDLE_DIGEST_MISMATCH');
    expect(existsSync(join(dir, 'out')) ? readdirSync(join(dir, 'out')) : []).toEqual([]);
  });

  it('ends a read that stops moving (media that hangs) with BUNDLE_IMPORT_TIMEOUT, and removes staging', async () => {
    const fifo = join(dir, 'airlock-qa-to-prod-000001.pgp.001');
    execFileSync('mkfifo', [fifo]);
    const index = {
      format: 'airlock-bundle-volumes/v1' as const,
      id: randomUUID(),
      channel: 'qa-to-prod',
      sequence: 1,
      encrypted: true,
      volumes: [{ name: 'airlock-qa-to-prod-000001.pgp.001', size: 0, sha256: sha(Buffer.alloc(0)) }],
    };
    const t0 = Date.now();
    const err = await openBundle([fifo], index, {
      staging: join(dir, 'staging'),
      trustedSenders: [sender.toPublic()],
      decryptionKeys: [importer],
      requireEncrypted: true,
      stallMs: 400,
    }).catch((e) => e);
    expect([err.code, Date.now() - t0 < 5000]).toEqual(['BUNDLE_IMPORT_TIMEOUT', true]);
    expect(existsSync(join(dir, 'staging'))).toBe(false);
    // let the reader's pending open of the FIFO return, so that no thread stays blocked on it
    closeSync(openSync(fifo, 'w'));
  });
});
