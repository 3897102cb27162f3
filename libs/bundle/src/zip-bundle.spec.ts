import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, promises as fs, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import * as openpgp from 'openpgp';
import { PlannedEntry, rewriteVolumes, writeBundle2 } from './zip-bundle-writer';
import { openBundle2, openEntry, readWholeEntry } from './zip-bundle-reader';
import { openZipVolume, readEntryBytes } from './zip-volume';
import { volumeName } from './bundle-index';
import { locateBundle } from './bundle-files';
import { craftZip } from '../../../test/support/zip-craft';

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

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('bundle format 2: zip volumes, a signed index, entries sealed one by one', () => {
  let sender: openpgp.PrivateKey;
  let importer: openpgp.PrivateKey;
  let dir: string;
  const blobs = [randomBytes(300_000), randomBytes(1_500_000), randomBytes(40_000)];
  const small = Buffer.from('{"schemaVersion":2}');
  const entries: PlannedEntry[] = [
    { path: 'oci/oci-layout', role: 'layout', size: small.length, sha256: sha(small) },
    ...blobs.map((b) => ({ path: `oci/blobs/sha256/${sha(b)}`, role: 'blob' as const, size: b.length, sha256: sha(b) })),
  ];
  const content = new Map<string, Buffer>([
    ['oci/oci-layout', small],
    ...blobs.map((b) => [`oci/blobs/sha256/${sha(b)}`, b] as [string, Buffer]),
  ]);
  const header = {
    id: randomUUID(),
    channel: 'qa-to-prod',
    source: 'qa',
    target: 'prod',
    sequence: 7,
    created: new Date().toISOString(),
    expires: new Date(Date.now() + 3600_000).toISOString(),
    sender: '',
    full: false,
    images: [
      {
        promotionId: randomUUID(),
        source: 'qa.example/a@sha256:' + '1'.repeat(64),
        target: 'prod.example/a:1',
        digest: 'sha256:' + '1'.repeat(64),
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        requester: 'r',
        reason: 'x',
        requestedAt: new Date().toISOString(),
        approvals: [],
      },
    ],
  };

  beforeAll(async () => {
    [sender, importer] = await Promise.all([key('sender'), key('importer')]);
    header.sender = sender.getFingerprint().toUpperCase();
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'zipbundle-'));
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  const write = (maxVolumeBytes: number, encrypt = true) =>
    writeBundle2({
      header,
      entries,
      open: async (e, offset) => Readable.from([(content.get(e.path) as Buffer).subarray(offset)]),
      signingKey: sender,
      encryptTo: encrypt ? [importer.toPublic()] : undefined,
      outDir: dir,
      maxVolumeBytes,
    });
  const open = (files: string[], requireEncrypted = true) =>
    openBundle2(files, { trustedSenders: [sender.toPublic()], decryptionKeys: [importer], requireEncrypted });

  it('round-trips through volumes of 1 MiB, a blob split across them; each volume opens alone', async () => {
    const w = await write(1 << 20);
    expect(w.volumes.length).toBeGreaterThanOrEqual(2);
    for (const v of w.volumes) expect(v.size).toBeLessThanOrEqual(1 << 20);
    const split = w.index.entries.find((e) => e.parts.length > 1);
    expect(split?.role).toBe('blob');
    const files = w.volumes.map((v) => join(dir, v.name));
    const b = await open(files);
    expect(b.sender).toBe(header.sender);
    expect(b.missing).toEqual([]);
    for (const e of b.index.entries) expect((await readWholeEntry(b, e, 1 << 22)).equals(content.get(e.path) as Buffer)).toBe(true);
    // one volume alone: its index verifies, what lies elsewhere is named
    const alone = await open([files[1]]);
    expect(alone.missing).toContain(1);
    const elsewhere = alone.index.entries.find((e) => e.parts.every((p) => p.volume === 1)) as (typeof alone.index.entries)[number];
    await expect(readWholeEntry(alone, elsewhere, 1 << 22)).rejects.toMatchObject({ code: 'BUNDLE_INCOMPLETE' });
    // entry names show nothing of what they hold
    const z = await openZipVolume(files[0], { maxEntries: 100 });
    expect([...z.entries.keys()].every((n) => /^(index\.pgp|e\/\d{6}\.pgp)$/.test(n))).toBe(true);
  });

  it('writes the named volumes again: the same index, new ciphertext, and the import takes them', async () => {
    const w = await write(1 << 20);
    const files = w.volumes.map((v) => join(dir, v.name));
    const before = readFileSync(files[1]);
    await fs.rm(files[1]);
    const again = await rewriteVolumes({
      channel: header.channel,
      sequence: header.sequence,
      volumes: [2],
      outDir: dir,
      maxVolumeBytes: 1 << 20,
      signingKey: sender,
      encryptTo: [importer.toPublic()],
      open: async (e, offset) => Readable.from([(content.get(e.path) as Buffer).subarray(offset)]),
    });
    expect(again.volumes.map((v) => v.name)).toEqual([volumeName(header.channel, header.sequence, 2)]);
    expect(readFileSync(files[1]).equals(before)).toBe(false);
    const b = await open(files);
    for (const e of b.index.entries) expect((await readWholeEntry(b, e, 1 << 22)).equals(content.get(e.path) as Buffer)).toBe(true);
  });

  it('stores entries plain and signs the index when the channel does not encrypt', async () => {
    const w = await write(4 << 20, false);
    const b = await open(
      w.volumes.map((v) => join(dir, v.name)),
      false,
    );
    expect(b.index.encrypted).toBe(false);
    for (const e of b.index.entries) expect((await readWholeEntry(b, e, 1 << 22)).equals(content.get(e.path) as Buffer)).toBe(true);
    await expect(
      open(
        w.volumes.map((v) => join(dir, v.name)),
        true,
      ),
    ).rejects.toMatchObject({ code: 'BUNDLE_INVALID' });
  });

  it('refuses an index signed by another key, and volumes of two bundles given together', async () => {
    const w = await write(1 << 20);
    const files = w.volumes.map((v) => join(dir, v.name));
    await expect(
      openBundle2(files, { trustedSenders: [importer.toPublic()], decryptionKeys: [importer], requireEncrypted: true }),
    ).rejects.toMatchObject({
      code: 'BUNDLE_UNTRUSTED_SENDER',
    });
    const other = mkdtempSync(join(tmpdir(), 'zipbundle-'));
    try {
      const w2 = await writeBundle2({
        header: { ...header, id: randomUUID() },
        entries,
        open: async (e, offset) => Readable.from([(content.get(e.path) as Buffer).subarray(offset)]),
        signingKey: sender,
        encryptTo: [importer.toPublic()],
        outDir: other,
        maxVolumeBytes: 1 << 20,
      });
      await expect(open([files[0], join(other, w2.volumes[1].name)])).rejects.toMatchObject({
        code: 'BUNDLE_INVALID',
        message: expect.stringContaining('another index'),
      });
    } finally {
      await fs.rm(other, { recursive: true, force: true });
    }
  });

  it('refuses an entry whose bytes are not the index’s, naming it, before its last byte passes', async () => {
    const w = await write(4 << 20, false);
    const file = join(dir, w.volumes[0].name);
    const b = await open([file], false);
    const e = b.index.entries.find((x) => x.role === 'blob') as (typeof b.index.entries)[number];
    const z = b.volumes.get(1)!;
    const at = z.entries.get(e.parts[0].entry)!.offset + 10;
    const bytes = readFileSync(file);
    bytes[at] ^= 0xff;
    writeFileSync(file, bytes);
    const got: Buffer[] = [];
    await expect(
      (async () => {
        for await (const c of openEntry(b, e)) got.push(c as Buffer);
      })(),
    ).rejects.toMatchObject({ code: 'BUNDLE_DIGEST_MISMATCH' });
  });

  it('refuses a split blob with a part missing in the middle: its volume lacks an entry the index puts there', async () => {
    const w = await write(1 << 20, false);
    const split = w.index.entries.find((e) => e.parts.length > 2) ?? w.index.entries.find((e) => e.parts.length > 1);
    expect(split).toBeDefined();
    const middle = split!.parts[Math.floor(split!.parts.length / 2)];
    const file = join(dir, w.volumes[middle.volume - 1].name);
    const z = await openZipVolume(file, { maxEntries: 100 });
    const kept = await Promise.all(
      [...z.entries.values()]
        .filter((e) => e.name !== middle.entry)
        .map(async (e) => ({ name: e.name, data: await readEntryBytes(z, e, 4 << 20) })),
    );
    writeFileSync(file, craftZip(kept));
    await expect(
      open(
        w.volumes.map((v) => join(dir, v.name)),
        false,
      ),
    ).rejects.toMatchObject({ code: 'BUNDLE_VOLUME_CORRUPT', message: expect.stringContaining(middle.entry) });
  });

  it('tells the formats apart by their files, and refuses volumes of two bundles or both formats given together', async () => {
    await expect(
      locateBundle([
        '/m/airlock-qa-to-prod-000007.001.zip',
        '/m/airlock-qa-to-prod-000007.002.zip',
        '/m/airlock-qa-to-prod-000007.plan.json',
      ]),
    ).resolves.toMatchObject({
      format: 2,
      channel: 'qa-to-prod',
      sequence: 7,
      files: ['/m/airlock-qa-to-prod-000007.001.zip', '/m/airlock-qa-to-prod-000007.002.zip'],
    });
    await expect(locateBundle(['/m/airlock-qa-to-prod-000007.001.zip', '/m/airlock-qa-to-prod-000008.002.zip'])).rejects.toMatchObject({
      code: 'BUNDLE_INVALID',
      message: expect.stringContaining('two bundles'),
    });
    await expect(locateBundle(['/m/airlock-qa-to-prod-000007.001.zip', '/m/airlock-qa-to-prod-000007.pgp.001'])).rejects.toMatchObject({
      code: 'BUNDLE_INVALID',
    });
    await expect(locateBundle(['/m/other.zip'])).rejects.toMatchObject({ code: 'BUNDLE_INVALID' });
  });

  describe('hostile volumes, refused by their structure before any entry is read', () => {
    const idx = Buffer.from('not read');
    const cases: [string, () => Buffer, string][] = [
      [
        'an entry name with ..',
        () =>
          craftZip([
            { name: 'index.pgp', data: idx },
            { name: '../e/000001', data: idx },
          ]),
        'BUNDLE_UNSAFE_ENTRY',
      ],
      [
        'an absolute entry name',
        () =>
          craftZip([
            { name: 'index.pgp', data: idx },
            { name: '/etc/passwd', data: idx },
          ]),
        'BUNDLE_UNSAFE_ENTRY',
      ],
      [
        'a backslash',
        () =>
          craftZip([
            { name: 'index.pgp', data: idx },
            { name: 'e\\000001', data: idx },
          ]),
        'BUNDLE_UNSAFE_ENTRY',
      ],
      [
        'a NUL in a name',
        () =>
          craftZip([
            { name: 'index.pgp', data: idx },
            { name: Buffer.from('e/000001\0.pgp'), data: idx },
          ]),
        'BUNDLE_UNSAFE_ENTRY',
      ],
      [
        'two entries with one name',
        () =>
          craftZip([
            { name: 'index.pgp', data: idx },
            { name: 'e/000001', data: idx },
            { name: 'e/000001', data: idx },
          ]),
        'BUNDLE_UNSAFE_ENTRY',
      ],
      [
        'a compressed entry',
        () =>
          craftZip([
            { name: 'index.pgp', data: idx },
            { name: 'e/000001', data: idx, method: 8 },
          ]),
        'BUNDLE_COMPRESSED',
      ],
      [
        'a local header that names another entry',
        () =>
          craftZip([
            { name: 'index.pgp', data: idx },
            { name: 'e/000001', data: idx, localName: 'e/000002' },
          ]),
        'BUNDLE_INVALID',
      ],
      [
        'a size that lies',
        () =>
          craftZip([
            { name: 'index.pgp', data: idx },
            { name: 'e/000001', data: idx, centralSize: 1 << 30 },
          ]),
        'BUNDLE_INVALID',
      ],
      [
        'overlapping entries',
        () =>
          craftZip(
            [
              { name: 'index.pgp', data: idx },
              { name: 'e/000001', data: idx },
            ],
            { overlap: true },
          ),
        'BUNDLE_INVALID',
      ],
      [
        'an archive comment',
        () => craftZip([{ name: 'index.pgp', data: idx }], { comment: Buffer.alloc(40_000, 0x41) }),
        'BUNDLE_VOLUME_CORRUPT',
      ],
      [
        'an extra field of absurd size',
        () =>
          craftZip([
            { name: 'index.pgp', data: idx },
            { name: 'e/000001', data: idx, extra: Buffer.alloc(60_000) },
          ]),
        'BUNDLE_INVALID',
      ],
      [
        'data after the end record',
        () => craftZip([{ name: 'index.pgp', data: idx }], { trailing: Buffer.from('tail') }),
        'BUNDLE_VOLUME_CORRUPT',
      ],
      [
        'a volume cut short',
        () =>
          craftZip([
            { name: 'index.pgp', data: idx },
            { name: 'e/000001', data: Buffer.alloc(5000) },
          ]).subarray(0, 3000),
        'BUNDLE_VOLUME_CORRUPT',
      ],
    ];
    it.each(cases)('%s', async (_what, make, code) => {
      const file = join(dir, volumeName('qa-to-prod', 7, 1));
      writeFileSync(file, make());
      await expect(openZipVolume(file, { maxEntries: 100 })).rejects.toMatchObject({ code });
    });

    it('the crafter writes volumes the reader takes (the cases above fail for their one fault)', async () => {
      const file = join(dir, volumeName('qa-to-prod', 7, 1));
      writeFileSync(
        file,
        craftZip([
          { name: 'index.pgp', data: idx },
          { name: 'e/000001', data: idx },
        ]),
      );
      expect([...(await openZipVolume(file, { maxEntries: 100 })).entries.keys()]).toEqual(['index.pgp', 'e/000001']);
    });

    it('an entry the index does not list', async () => {
      const w = await write(4 << 20);
      const file = join(dir, w.volumes[0].name);
      const z = await openZipVolume(file, { maxEntries: 100 });
      const bytes = readFileSync(file);
      const indexEntry = z.entries.get('index.pgp')!;
      const index = bytes.subarray(indexEntry.offset, indexEntry.offset + indexEntry.size);
      writeFileSync(
        file,
        craftZip([
          { name: 'index.pgp', data: index },
          { name: 'e/999999.pgp', data: idx },
        ]),
      );
      await expect(open([file])).rejects.toMatchObject({ code: 'BUNDLE_ENTRY_UNLISTED' });
    });
  });
});
