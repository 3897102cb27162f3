import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import * as openpgp from 'openpgp';
import { Sensitive } from '@airlock/common';
import { CopyEngine, ManifestBlob, OciLayout, Registries } from '@airlock/oci';
import { FileLookasideStore, generateKeyPair, readPrivateKey, readPublicKeys, sign, verify } from '@airlock/signing';
import { ImageSigner, MoveOptions, moveSignedImage } from './image-pipeline';

const digestOf = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function keyPair(name: string): Promise<{ pub: openpgp.Key; priv: openpgp.PrivateKey }> {
  const k = await generateKeyPair({ name, passphrase: new Sensitive('pass') });
  return { pub: (await readPublicKeys(k.publicArmored))[0], priv: await readPrivateKey(k.privateArmored, new Sensitive('pass')) };
}

/** The whole pipeline between two OCI layout folders: no registry anywhere. */
describe('the image pipeline between two OCI layouts', () => {
  let dir: string;
  let source: OciLayout;
  let dest: OciLayout;
  let sourceSigs: FileLookasideStore;
  let destSigs: FileLookasideStore;
  let dev: Awaited<ReturnType<typeof keyPair>>;
  let qa: Awaited<ReturnType<typeof keyPair>>;
  let stranger: Awaited<ReturnType<typeof keyPair>>;
  const engine = new CopyEngine(new Registries());
  const REPO = 'team/app';
  const SOURCE_REF = 'dev.example/team/app:1.0';
  const IDENTITY = 'qa.example/team/app:1.0';

  beforeAll(async () => {
    [dev, qa, stranger] = await Promise.all([keyPair('dev'), keyPair('qa'), keyPair('stranger')]);
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'airlock-pipeline-'));
    source = new OciLayout(join(dir, 'src'));
    dest = new OciLayout(join(dir, 'dst'));
    sourceSigs = new FileLookasideStore(join(dir, 'src-sigs'));
    destSigs = new FileLookasideStore(join(dir, 'dst-sigs'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  afterAll(() => engine.close());

  const put = async (layout: OciLayout, bytes: Buffer) =>
    layout.putBlob({ digest: digestOf(bytes), size: bytes.length, mediaType: '' }, async () => ({ body: Readable.from([bytes]) }), {});
  async function image(): Promise<ManifestBlob> {
    const layer = randomBytes(70_000);
    const config = Buffer.from(
      JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [digestOf(layer)] } }),
    );
    await put(source, layer);
    await put(source, config);
    const bytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digestOf(layer), size: layer.length }],
      }),
    );
    const m = { bytes, mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digestOf(bytes) };
    await source.putManifest(m.digest, m);
    return m;
  }
  async function index(children: ManifestBlob[]): Promise<ManifestBlob> {
    const bytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: children.map((c, i) => ({
          mediaType: c.mediaType,
          digest: c.digest,
          size: c.bytes.length,
          platform: { os: 'linux', architecture: ['amd64', 'arm64'][i % 2] },
        })),
      }),
    );
    const m = { bytes, mediaType: 'application/vnd.oci.image.index.v1+json', digest: digestOf(bytes) };
    await source.putManifest(m.digest, m);
    return m;
  }
  const signSource = async (digest: string, key = dev.priv, claimed = digest) =>
    sourceSigs.add(REPO, digest, await sign(claimed, SOURCE_REF, key));
  const signer = (): ImageSigner => ({ publicKeys: [qa.pub], key: async () => qa.priv, publishTo: destSigs });
  const move = (digest: string, onStep?: MoveOptions['onStep']) =>
    moveSignedImage(source, dest, digest, {
      onStep,
      policy: {
        trustedKeys: [dev.pub],
        identityRule: { type: 'matchRepoDigestOrExact' },
        reference: SOURCE_REF,
        repository: REPO,
        store: sourceSigs,
        signer: 'stage dev',
      },
      engine,
      signer: signer(),
      repository: REPO,
      identity: IDENTITY,
      tag: '1.0',
    });
  const refused = (p: Promise<unknown>) =>
    p.then(
      () => 'accepted',
      (e: { code?: string; message?: string }) => e.code ?? e.message,
    );
  const destIsEmpty = () => expect(existsSync(join(dir, 'dst')) ? readdirSync(join(dir, 'dst')) : []).toEqual([]);

  it('accepts an index whose every manifest the source stage signed: copies it all, tags it, signs it once with the next key', async () => {
    const a = await image();
    const b = await image();
    const idx = await index([a, b]);
    for (const d of [idx.digest, a.digest, b.digest]) await signSource(d);
    const steps: string[] = [];
    const r = await move(idx.digest, async (s) => void steps.push(`${s.finished ? `${s.finished.step} done, ` : ''}${s.step} ${s.status}`));
    expect(steps).toEqual(['verify started', 'verify done, copy started', 'copy done, sign started', 'sign done, publish started']);
    expect(r.copied.blobsCopied).toBe(4);
    expect(await dest.manifestDigest('1.0')).toBe(idx.digest);
    for (const m of [idx, a, b]) expect(readFileSync(join(dir, 'dst', 'blobs', 'sha256', m.digest.slice(7))).equals(m.bytes)).toBe(true);
    for (const d of [idx.digest, a.digest, b.digest]) {
      const [sig] = await destSigs.list(REPO, d);
      expect(
        (await verify(sig, { trustedKeys: [qa.pub], manifestDigest: d, reference: IDENTITY, identityRule: { type: 'matchExact' } }))
          .keyFingerprint,
      ).toBe(qa.pub.getFingerprint().toUpperCase());
    }
    // a second run finds everything there: no copy, no new signature
    const again = await move(idx.digest);
    expect([again.copied.blobsCopied, again.signatures.every((s) => !s.added)]).toEqual([0, true]);
    expect((await destSigs.list(REPO, a.digest)).length).toBe(1);
  });

  it('refuses an image signed by a key the policy does not trust, and writes nothing', async () => {
    const a = await image();
    await signSource(a.digest, stranger.priv);
    expect(await refused(move(a.digest))).toBe('SIGNATURE_UNTRUSTED_KEY');
    destIsEmpty();
  });

  it('checks every level: an index whose platform manifest carries no signature is refused', async () => {
    const a = await image();
    const b = await image();
    const idx = await index([a, b]);
    await signSource(idx.digest);
    await signSource(a.digest);
    expect(await refused(move(idx.digest))).toBe('SIGNATURE_REQUIRED');
    destIsEmpty();
  });

  it('refuses a signature made for another digest (the index signature put under a platform manifest)', async () => {
    const a = await image();
    const idx = await index([a]);
    await signSource(idx.digest);
    await signSource(a.digest, dev.priv, idx.digest);
    expect(await refused(move(idx.digest))).toBe('SIGNATURE_DIGEST_MISMATCH');
    destIsEmpty();
  });

  it('refuses a nested index with one code, before any signature is read or byte written', async () => {
    const a = await image();
    const inner = await index([a]);
    const outer = await index([inner]);
    for (const d of [outer.digest, inner.digest, a.digest]) await signSource(d);
    expect(await refused(move(outer.digest))).toBe('MANIFEST_UNSUPPORTED');
    destIsEmpty();
  });
});
