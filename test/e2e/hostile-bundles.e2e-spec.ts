import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, createReadStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { request } from 'undici';
import { startPipeline, Pipeline } from '../support/pipeline';
import { BundleCrafter, CraftOptions } from '../support/bundle-craft';
import { tarEntry } from '../support/tar-craft';
import { ZipCraftEntry } from '../support/zip-craft';
import { skopeoRawDigest } from '../support/skopeo';
import { airlock } from '../support/cli';
import { ChannelLock } from '../../libs/promotion/src/channel-lock';

/**
 * Bundles as an adversary makes them, by code of its own (test/support/
 * bundle-craft.ts: skopeo signs the images, gpg seals, the tar is written by
 * hand), most of them sealed by the genuinely trusted sender key so that only
 * airlock's own checks stand in the way. Each is fed to a real high side (its
 * registry, database, Redis and keys) through `airlock bundle import`, and
 * the production registry's storage, the lookaside, the staging folder, the
 * channel's records and locks are compared byte for byte before and after
 * every refused import.
 */
describe('hostile bundles: a refused import lands nothing, an imported bundle never changes anything again', () => {
  let high: Pipeline;
  let crafter: BundleCrafter;
  const work = mkdtempSync(join(tmpdir(), 'airlock-hostile-'));
  let n = 0;
  const dir = () => join(work, `b${++n}`);
  let seq = 0;

  beforeAll(async () => {
    high = await startPipeline(
      [{ name: 'qa' }, { name: 'prod', from: [{ stage: 'qa', mapping: [{ from: '{qa}/team/*', to: '{prod}/team/*' }] }] }],
      {
        worker: false,
        extra: () => ({
          channels: [{ name: 'qa-to-prod', from: 'qa', to: 'prod', encrypt: true, trustedSenders: ['keys/qa.pub'], lifetimeHours: 48 }],
        }),
      },
    );
    crafter = new BundleCrafter({
      senderKey: readFileSync(join(high.dir, 'keys', 'qa.key'), 'utf8'),
      senderPassphrase: high.config.env.AIRLOCK_TEST_QA_PASSPHRASE,
      recipientKey: readFileSync(join(high.dir, 'keys', 'prod.pub'), 'utf8'),
      sourceHost: high.registries.qa.host,
      targetHost: high.registries.prod.host,
      channel: 'qa-to-prod',
      from: 'qa',
      to: 'prod',
    });
    await crafter.init();
  }, 180_000);
  afterAll(async () => {
    crafter?.close();
    await high?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  /** Every file under `root` with its size and SHA-256: the registry's storage, the lookaside, staging. */
  function tree(root: string): string[] {
    if (!existsSync(root)) return [];
    const out: string[] = [];
    const walk = (d: string) => {
      for (const f of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, f.name);
        if (f.isDirectory()) walk(p);
        else out.push(`${p.slice(root.length)} ${statSync(p).size} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`);
      }
    };
    walk(root);
    return out.sort();
  }

  const db = () => high.api.runtime.db;
  function state() {
    return {
      registry: tree(join(high.registries.prod.dir, 'data')),
      lookaside: tree(join(high.dir, 'sigstore', 'prod')),
      staging: tree(join(high.dir, 'staging')),
      bundles: db().prepare("SELECT id, channel, sequence, content FROM bundles WHERE direction = 'import' ORDER BY sequence").all(),
      promotions: db().prepare('SELECT id, state, digest, target_ref FROM promotions ORDER BY id').all(),
      locks: db().prepare('SELECT * FROM channel_locks').all(),
    };
  }

  async function refusals(): Promise<{ details: { code: string; message: string } }[]> {
    return (await high.call('GET', '/api/v1/audit/events?action=bundle.import.refused&limit=1000', high.tokens.dave)).body.items;
  }

  const importCli = (files: string[], env: NodeJS.ProcessEnv = {}) =>
    airlock(['bundle', 'import', ...files, '--config', high.config.path, '--receipt-dir', work], { env, timeoutMs: 60_000 });

  /** Imports and expects the refusal `code`: one line naming it, a non-zero exit, one audit event, and nothing changed anywhere. */
  async function expectRefused(files: string[], code: string): Promise<string> {
    const before = state();
    const audited = (await refusals()).length;
    const r = await importCli(files);
    expect({ code: r.code === 0 ? 0 : 'non-zero', line: r.stderr.trim() }).toEqual({
      code: 'non-zero',
      line: expect.stringMatching(new RegExp(`^airlock: ${code}: .+$`)),
    });
    expect(state()).toEqual(before);
    const after = await refusals();
    expect(after.length).toBe(audited + 1);
    expect(after.filter((e) => e.details.code === code).length).toBeGreaterThan(0);
    return r.stderr;
  }

  async function craft(o: Partial<CraftOptions> & { images?: CraftOptions['images'] }) {
    return crafter.craft(dir(), { images: [{ repo: 'team/app', tag: 'x' }], sequence: seq + 1, ...o });
  }

  async function imported(files: string[]) {
    const r = await importCli(files);
    expect([r.code, r.stderr]).toEqual([0, '']);
    return r.stdout;
  }

  it('imports a genuine crafted bundle (the control case), and re-signs it with the production key', async () => {
    const b = await craft({ sequence: ++seq, images: [{ repo: 'team/app', tag: '1' }] });
    expect(await imported(b.files)).toMatch(/ imported: /);
    expect(await skopeoRawDigest(b.built[0].target)).toBe(b.built[0].digest);
    expect(readdirSync(join(high.dir, 'sigstore', 'prod', `team/app@${b.built[0].digest.replace(':', '=')}`))).toEqual(['signature-1']);
  });

  it('rollback by replay: an older bundle imported again after a newer one is reported and changes nothing; expired, it is refused', async () => {
    const now = Date.now();
    const older = await craft({
      sequence: ++seq,
      images: [{ repo: 'team/roll', tag: 'stable' }],
      created: new Date(now - 60_000),
      // long enough for two crafts and three imports on a loaded machine (two suites' workers share two cores)
      expires: new Date(now + 25_000),
    });
    await imported(older.files);
    const newer = await craft({ sequence: ++seq, images: [{ repo: 'team/roll', tag: 'stable' }] });
    await imported(newer.files);
    const ref = newer.built[0].target;
    expect(await skopeoRawDigest(ref)).toBe(newer.built[0].digest);

    const before = state();
    const again = await importCli(older.files);
    expect([again.code, again.stderr]).toEqual([0, '']);
    expect(again.stdout).toContain('was already imported');
    expect(state()).toEqual(before);
    expect(await skopeoRawDigest(ref)).toBe(newer.built[0].digest);

    // the same bundle once it has expired: refused, whatever its history
    await new Promise((r) => setTimeout(r, Math.max(0, now + 25_500 - Date.now())));
    await expectRefused(older.files, 'BUNDLE_EXPIRED');
    expect(await skopeoRawDigest(ref)).toBe(newer.built[0].digest);

    // an older sequence with new content, and a seen sequence with other content
    await expectRefused((await craft({ sequence: seq - 1, images: [{ repo: 'team/roll', tag: 'stable' }] })).files, 'BUNDLE_REPLAY');
    await expectRefused((await craft({ sequence: seq, images: [{ repo: 'team/roll', tag: 'stable' }] })).files, 'BUNDLE_REPLAY');
    expect(await skopeoRawDigest(ref)).toBe(newer.built[0].digest);
  });

  it('a tar cut in the middle of an entry is refused with its code, by the CLI and through the API, and staging is gone', async () => {
    const whole = await crafter.entries({ images: [{ repo: 'team/cut', tag: '1', layers: [200_000] }], sequence: seq + 1 });
    const cutAt = whole.tar.length - 150_000;
    const b = await craft({ sequence: seq + 1, images: [{ repo: 'team/cut', tag: '1', layers: [200_000] }], tar: { cutAt } });
    await expectRefused(b.files, 'BUNDLE_TRUNCATED');
    // the same without a sender signature (anyone with the public import key can make one): the sender is refused first
    await expectRefused(
      (await craft({ sequence: seq + 1, images: [{ repo: 'team/cut', tag: '1' }], tar: { cutAt: 3000 }, signer: 'none' })).files,
      'BUNDLE_UNTRUSTED_SENDER',
    );

    // through the API: upload, import as a job, and the job ends refused with the code (it never hangs)
    const before = state();
    for (const f of b.files) {
      const up = await request(`${high.url}/api/v1/bundles/uploads/${basename(f)}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${high.tokens.olga}`, 'content-type': 'application/octet-stream' },
        body: createReadStream(f),
      });
      expect(up.statusCode).toBe(200);
      await up.body.dump();
    }
    const t0 = Date.now();
    const r = await high.call('POST', '/api/v1/bundles/import', high.tokens.olga, { files: b.files.map((f) => basename(f)) });
    expect(r.status).toBe(202);
    let job = r.body;
    while (job.state !== 'failed' && job.state !== 'completed' && Date.now() - t0 < 10_000) {
      await new Promise((res) => setTimeout(res, 100));
      job = (await high.call('GET', `/api/v1/bundle-jobs/${r.body.id}`, high.tokens.olga)).body;
    }
    expect([job.state, job.error?.code]).toEqual(['failed', 'BUNDLE_TRUNCATED']);
    expect({ ...state(), staging: [] }).toEqual({ ...before, staging: [] });
    expect(state().staging).toEqual([]);
  });

  it('the last entry is checked too: without the end-of-archive the bundle is refused, and a wrong last entry is a digest mismatch', async () => {
    await expectRefused(
      (await craft({ sequence: seq + 1, images: [{ repo: 'team/noend', tag: '1' }], tar: { end: false } })).files,
      'BUNDLE_TRUNCATED',
    );
    const wrongLast = await craft({
      sequence: seq + 1,
      images: [{ repo: 'team/noend', tag: '1' }],
      tar: { end: false },
      editEntries: (entries) =>
        entries.map((e, i) => (i === entries.length - 1 ? { ...e, data: Buffer.from(e.data).fill(0x41, 0, 1) } : e)),
    });
    await expectRefused(wrongLast.files, 'BUNDLE_DIGEST_MISMATCH');
  });

  it('entries after the end-of-archive (which GNU tar, the break-glass path, never reads) are refused', async () => {
    const extra = tarEntry({ name: `oci/blobs/sha256/${'e'.repeat(64)}`, data: Buffer.from('smuggled') });
    await expectRefused(
      (await craft({ sequence: seq + 1, images: [{ repo: 'team/after', tag: '1' }], tar: { after: extra } })).files,
      'BUNDLE_TRAILING_DATA',
    );
  });

  it('compressed OpenPGP data is refused unread, and a decompression bomb never reaches the staging folder', async () => {
    await expectRefused(
      (await craft({ sequence: seq + 1, images: [{ repo: 'team/zip', tag: '1' }], compress: 'zlib' })).files,
      'BUNDLE_COMPRESSED',
    );
    // 256 MiB of zeros in a layer, compressed by gpg to a few hundred KiB, unsigned: refused before any byte is written
    const bomb = await craft({
      sequence: seq + 1,
      images: [{ repo: 'team/bomb', tag: '1', layers: [Buffer.alloc(256 << 20)] }],
      compress: 'zlib',
      signer: 'none',
    });
    expect(statSync(bomb.files[0]).size).toBeLessThan(2 << 20);
    let peak = 0;
    const watching = setInterval(() => (peak = Math.max(peak, tree(join(high.dir, 'staging')).length)), 20);
    try {
      await expectRefused(bomb.files, 'BUNDLE_COMPRESSED');
    } finally {
      clearInterval(watching);
    }
    expect(peak).toBe(0);
  }, 120_000);

  it('a bundle is imported whole or not at all: a refused second image leaves no blob, manifest, tag or signature of the first', async () => {
    const two = (second: CraftOptions['images'][number]) =>
      craft({ sequence: seq + 1, images: [{ repo: 'team/first', tag: '1', layers: [100_000] }, second] });
    await expectRefused((await two({ repo: 'team/second', tag: '1', signed: false })).files, 'SIGNATURE_REQUIRED');
    await expectRefused((await two({ repo: 'team/second', tag: '1', signed: 'other' })).files, 'SIGNATURE_UNTRUSTED_KEY');
    await expectRefused((await two({ repo: 'team/second', tag: '1', signed: 'wrong-digest' })).files, 'SIGNATURE_DIGEST_MISMATCH');
    // an image whose target is outside the channel's mapping
    const outside = await craft({
      sequence: seq + 1,
      images: [
        { repo: 'team/first', tag: '1' },
        { repo: 'team/second', tag: '1' },
      ],
      editManifest: (m) => {
        const imgs = m.images as { target: string }[];
        imgs[1].target = imgs[1].target.replace('/team/', '/other/');
      },
    });
    await expectRefused(outside.files, 'BUNDLE_INVALID');
    // platforms chosen that the verified image does not offer: no subset index can be made, nothing lands
    const chosen = await craft({
      sequence: seq + 1,
      images: [
        { repo: 'team/first', tag: '1' },
        { repo: 'team/second', tag: '1' },
      ],
      editManifest: (m) => ((m.images as { platforms?: string[] }[])[1].platforms = ['linux/riscv64']),
    });
    await expectRefused(chosen.files, 'BUNDLE_INVALID');
  });

  it('attachments are checked with their image before anything lands: one of no carried image, one the bundle does not carry, one described otherwise than its manifest', async () => {
    const att = (subject: string, over: Record<string, unknown> = {}) => ({
      subject,
      kind: 'att',
      manifest: 'sha256:' + 'cd'.repeat(32),
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      size: 100,
      ...over,
    });
    const stranger = await craft({
      sequence: seq + 1,
      images: [{ repo: 'team/att', tag: '1', layers: [10_000] }],
      editManifest: (m) => (m.attachments = [att('sha256:' + 'ab'.repeat(32))]),
    });
    await expectRefused(stranger.files, 'BUNDLE_INVALID');
    const absent = await craft({
      sequence: seq + 1,
      images: [{ repo: 'team/att', tag: '1', layers: [10_000] }],
      editManifest: (m, built) => (m.attachments = [att(built[0].digest)]),
    });
    await expectRefused(absent.files, 'BUNDLE_INCOMPLETE');
    // the image's own manifest named as its attachment, with the wrong size in bundle.json
    const misdescribed = await craft({
      sequence: seq + 1,
      images: [{ repo: 'team/att', tag: '1', layers: [10_000] }],
      editManifest: (m, built) =>
        (m.attachments = [att(built[0].digest, { manifest: built[0].digest, size: built[0].manifest.length + 1 })]),
    });
    await expectRefused(misdescribed.files, 'BUNDLE_INVALID');
  });

  it('nothing is pushed before verification: a blob named for other bytes, and a manifest whose blobs are nowhere, are refused first', async () => {
    // the entry name says one digest, bundle.json and the bytes agree on another
    const misnamed = await craft({
      sequence: seq + 1,
      images: [{ repo: 'team/bytes', tag: '1', layers: [50_000] }],
      editManifest: (m, built) => {
        const layer = built[0].layers[0];
        const entry = (m.entries as { name: string; sha256: string }[]).find((e) =>
          e.name.endsWith(createHash('sha256').update(layer).digest('hex')),
        ) as {
          sha256: string;
        };
        entry.sha256 = createHash('sha256')
          .update(Buffer.concat([layer, Buffer.from('x')]))
          .digest('hex');
      },
      editEntries: (entries, built) =>
        entries.map((e) => (e.data === built[0].layers[0] ? { ...e, data: Buffer.concat([e.data, Buffer.from('x')]) } : e)),
    });
    await expectRefused(misnamed.files, 'BUNDLE_DIGEST_MISMATCH');
    // a layer neither in the bundle nor in the production registry
    const absent = await craft({
      sequence: seq + 1,
      images: [{ repo: 'team/bytes', tag: '1', layers: [50_000] }],
      editManifest: (m, built) => {
        const hex = createHash('sha256').update(built[0].layers[0]).digest('hex');
        m.entries = (m.entries as { name: string }[]).filter((e) => !e.name.endsWith(hex));
      },
      editEntries: (entries, built) => entries.filter((e) => e.data !== built[0].layers[0]),
    });
    await expectRefused(absent.files, 'BUNDLE_INCOMPLETE');
  });

  it('two imports of one bundle at once: one imports, the other is told BUNDLE_IMPORT_BUSY or finds it imported; one signature per identity', async () => {
    const b = await craft({ sequence: ++seq, images: [{ repo: 'team/race', tag: '1', layers: [2 << 20] }] });
    // a run holding the channel (this process) makes another wait its turn, with nothing written
    const lock = ChannelLock.acquire(db(), 'qa-to-prod', 'import');
    try {
      await expectRefused(b.files, 'BUNDLE_IMPORT_BUSY');
    } finally {
      lock.release();
    }
    const [x, y] = await Promise.all([importCli(b.files), importCli(b.files)]);
    const outcomes = [x, y].map((r) =>
      r.code === 0 ? (r.stdout.includes('already imported') ? 'again' : 'imported') : (/airlock: (\w+):/.exec(r.stderr)?.[1] ?? r.stderr),
    );
    expect(outcomes.filter((o) => o === 'imported')).toHaveLength(1);
    expect(outcomes.filter((o) => o !== 'imported')).toEqual([expect.stringMatching(/^(again|BUNDLE_IMPORT_BUSY)$/)]);
    expect(readdirSync(join(high.dir, 'sigstore', 'prod', `team/race@${b.built[0].digest.replace(':', '=')}`))).toEqual(['signature-1']);
    expect(state().locks).toEqual([]);
  });

  it('times are checked: a bundle from the future, or one living longer than the channel allows, is refused', async () => {
    await expectRefused(
      (await craft({ sequence: seq + 1, created: new Date(Date.now() + 3_600_000), expires: new Date(Date.now() + 7_200_000) })).files,
      'BUNDLE_NOT_YET_VALID',
    );
    await expectRefused(
      (await craft({ sequence: seq + 1, expires: new Date(Date.now() + 30 * 86_400_000) })).files,
      'BUNDLE_LIFETIME_TOO_LONG',
    );
  });

  it('bundle.json is parsed strictly: invalid UTF-8 and duplicate keys are refused, not repaired', async () => {
    // a byte 0xFF inside a string: JSON.parse of a lenient decoding would see U+FFFD and accept it
    const bad = await craft({
      sequence: seq + 1,
      manifestBytes: (json) => Buffer.from(json.replace('"crafted"', '"craf\u00ff"'), 'latin1'),
    });
    await expectRefused(bad.files, 'BUNDLE_INVALID');
    await expectRefused(
      (
        await craft({
          sequence: seq + 1,
          manifestBytes: (json) => Buffer.from(json.replace('"full": true', '"full": true, "full": false')),
        })
      ).files,
      'BUNDLE_INVALID',
    );
  });

  it('inspect runs every check the import runs and says why it would not import', async () => {
    const cases: [Partial<CraftOptions>, string][] = [
      [{ images: [{ repo: 'team/insp', tag: '1', signed: false }] }, 'SIGNATURE_REQUIRED'],
      [{ images: [{ repo: 'team/insp', tag: '1', signed: 'other' }] }, 'SIGNATURE_UNTRUSTED_KEY'],
      [{ signer: 'other' }, 'BUNDLE_UNTRUSTED_SENDER'],
      [{ compress: 'zlib' }, 'BUNDLE_COMPRESSED'],
      [{ created: new Date(Date.now() + 3_600_000), expires: new Date(Date.now() + 7_200_000) }, 'BUNDLE_NOT_YET_VALID'],
      [
        {
          editManifest: (m) => {
            const imgs = m.images as { target: string }[];
            imgs[0].target = imgs[0].target.replace('/team/', '/other/');
          },
        },
        'BUNDLE_INVALID',
      ],
    ];
    for (const [o, code] of cases) {
      const before = state();
      const r = await airlock(['bundle', 'inspect', ...(await craft({ sequence: seq + 1, ...o })).files, '--config', high.config.path]);
      // every refusal is an answer: exit 0, whatever the import would say
      expect([code, r.code, r.stdout]).toEqual([code, 0, expect.stringContaining(`would import: no (${code}:`)]);
      expect(state()).toEqual(before);
    }
  });
  describe('format 2: crafted zip volumes', () => {
    const craft2 = (o: Partial<Parameters<BundleCrafter['craftV2']>[1]> = {}) =>
      crafter.craftV2(dir(), { images: [{ repo: 'team/v2', tag: 'x', layers: [300_000] }], sequence: seq + 1, ...o });

    it('a genuine crafted format-2 volume imports (the control case)', async () => {
      const b = await crafter.craftV2(dir(), { sequence: ++seq, images: [{ repo: 'team/v2', tag: '1' }] });
      expect(await imported(b.files)).toMatch(/ imported: /);
      expect(await skopeoRawDigest(b.built[0].target)).toBe(b.built[0].digest);
    });

    it('refuses, before anything lands and audited: an entry the index does not list, a name with .., a compressed entry, two entries with one name, a central directory that lies', async () => {
      const withEntry = (extra: { name: string; data: Buffer; method?: number }) => (es: ZipCraftEntry[]) => [...es, extra];
      await expectRefused(
        (await craft2({ zip: withEntry({ name: 'e/999999.pgp', data: Buffer.from('stray') }) })).files,
        'BUNDLE_ENTRY_UNLISTED',
      );
      await expectRefused(
        (await craft2({ zip: (es) => es.map((e, i) => (i === 1 ? { ...e, name: '../e/000001.pgp' } : e)) })).files,
        'BUNDLE_UNSAFE_ENTRY',
      );
      await expectRefused(
        (await craft2({ zip: (es) => es.map((e, i) => (i === 1 ? { ...e, method: 8 } : e)) })).files,
        'BUNDLE_COMPRESSED',
      );
      await expectRefused((await craft2({ zip: (es) => [...es, es[1]] })).files, 'BUNDLE_UNSAFE_ENTRY');
      await expectRefused(
        (await craft2({ zip: (es) => es.map((e, i) => (i === 2 ? { ...e, localName: 'e/000009.pgp' } : e)) })).files,
        'BUNDLE_INVALID',
      );
    });

    it('refuses volumes of two bundles given together, and a volume renamed to another sequence', async () => {
      const a = await craft2();
      const b = await craft2({ volume: 2 });
      const renamed = join(dirname(a.files[0]), basename(b.files[0]));
      copyFileSync(b.files[0], renamed);
      await expectRefused([a.files[0], renamed], 'BUNDLE_INVALID');
      const other = join(dirname(a.files[0]), `airlock-qa-to-prod-${String(seq + 7).padStart(6, '0')}.001.zip`);
      copyFileSync(a.files[0], other);
      await expectRefused([other], 'BUNDLE_INVALID');
    });

    it('an entry that opens to bytes whose digest is not the index’s: refused with its code; no manifest, tag, signature or record lands', async () => {
      const before = state();
      const audited = (await refusals()).length;
      // the layer's entry sealed from other bytes of its size: the signed index still names the genuine digest
      const tampered = await craft2({
        zip: (es, { seal, index }) => {
          const entries = index.entries as { role: string; size: number; parts: { entry: string }[] }[];
          const layer = entries.filter((e) => e.role === 'blob').sort((x, y) => y.size - x.size)[0];
          return es.map((e) => (e.name === layer.parts[0].entry ? { ...e, data: seal(randomBytes(layer.size)) } : e));
        },
      });
      const r = await importCli(tampered.files);
      expect([r.code === 0 ? 0 : 'non-zero', r.stderr.trim()]).toEqual([
        'non-zero',
        expect.stringMatching(/^airlock: BUNDLE_DIGEST_MISMATCH: .+$/),
      ]);
      const after = state();
      const visible = (x: ReturnType<typeof state>) => ({
        lookaside: x.lookaside,
        staging: x.staging,
        bundles: x.bundles,
        promotions: x.promotions,
        locks: x.locks,
        manifests: x.registry.filter((f) => f.includes('_manifests')),
      });
      // blobs that verified may have landed untagged (content-addressed: a later run skips them); no manifest, tag, signature or record did
      expect(visible(after)).toEqual(visible(before));
      expect((await refusals()).length).toBe(audited + 1);
    });
  });
});
