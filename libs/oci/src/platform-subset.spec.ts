import { sha256Digest } from './digest';
import { ManifestBlob } from './manifest';
import { walkImage } from './image-walk';
import { checkPlatforms, selectPlatforms, subsetIndex } from './platform-subset';

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

const blob = (doc: unknown, mediaType: string): ManifestBlob => {
  const bytes = Buffer.from(JSON.stringify(doc, null, 3));
  return { bytes, mediaType, digest: sha256Digest(bytes) };
};
const d = (c: string) => `sha256:${c.repeat(64)}`;
const image = (layer: string) =>
  blob(
    {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: d('c'), size: 2 },
      layers: [
        { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: d(layer), size: 10 },
        { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: d('f'), size: 20 },
      ],
    },
    OCI_MANIFEST,
  );
const amd = image('a');
const arm = image('b');
const armv7 = image('e');
const entry = (m: ManifestBlob, platform?: Record<string, string>) => ({
  mediaType: OCI_MANIFEST,
  digest: m.digest,
  size: m.bytes.length,
  ...(platform ? { platform } : {}),
});
// as buildx writes them: an attestation manifest with platform unknown/unknown, an annotation on the index
const index = blob(
  {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [
      entry(amd, { os: 'linux', architecture: 'amd64' }),
      entry(arm, { os: 'linux', architecture: 'arm64' }),
      entry(armv7, { os: 'linux', architecture: 'arm', variant: 'v7' }),
    ],
    annotations: { 'org.opencontainers.image.created': '2026-12-01T00:00:00Z' },
  },
  OCI_INDEX,
);
const source = {
  getManifest: async (digest: string) => {
    const m = [index, amd, arm, armv7].find((x) => x.digest === digest);
    if (!m) throw new Error(`no ${digest}`);
    return m;
  },
};

describe('choosing platforms of an index', () => {
  it('keeps the chosen entries in their order, with the rest of the document, and computes its digest', () => {
    const sub = subsetIndex(index, ['linux/arm/v7', 'linux/amd64']);
    const doc = JSON.parse(sub.bytes.toString()) as { manifests: { digest: string }[]; annotations: unknown; mediaType: string };
    expect(doc.manifests.map((m) => m.digest)).toEqual([amd.digest, armv7.digest]);
    expect(doc.annotations).toEqual({ 'org.opencontainers.image.created': '2026-12-01T00:00:00Z' });
    expect(doc.mediaType).toBe(OCI_INDEX);
    expect(sub.mediaType).toBe(OCI_INDEX);
    expect(sub.digest).toBe(sha256Digest(sub.bytes));
    expect(sub.digest).not.toBe(index.digest);
    // the same index and choice give the same bytes: each side of the gap computes the same digest
    expect(subsetIndex(index, ['linux/amd64', 'linux/arm/v7']).digest).toBe(sub.digest);
  });

  it('returns the index itself when every platform is chosen', () => {
    expect(subsetIndex(index, ['linux/arm64', 'linux/arm/v7', 'linux/amd64'])).toBe(index);
  });

  it('refuses a platform the index does not have, and a single-platform image, with PLATFORM_UNKNOWN', () => {
    expect(() => subsetIndex(index, ['linux/s390x'])).toThrow(
      expect.objectContaining({
        code: 'PLATFORM_UNKNOWN',
        message: expect.stringContaining('it has linux/amd64, linux/arm64, linux/arm/v7'),
      }),
    );
    expect(() => subsetIndex(amd, ['linux/amd64'])).toThrow(expect.objectContaining({ code: 'PLATFORM_UNKNOWN' }));
  });

  it('refuses platforms that are not os/architecture[/variant], none, too many, or one twice', () => {
    for (const bad of [[], ['linux'], ['Linux/AMD64'], ['linux/amd64/v8/x'], ['../etc'], ['linux/amd64', 'linux/amd64']])
      expect(() => checkPlatforms(bad)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => checkPlatforms(Array.from({ length: 65 }, (_, i) => `linux/a${i}`))).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(checkPlatforms(['linux/arm/v7', 'windows/amd64'])).toEqual(['linux/arm/v7', 'windows/amd64']);
  });

  it('takes the chosen platform manifests and only their blobs out of a walked image', async () => {
    const whole = await walkImage(source, index.digest);
    const sub = await selectPlatforms(whole, ['linux/arm64']);
    expect(sub.top.digest).toBe(subsetIndex(index, ['linux/arm64']).digest);
    expect(sub.top.parsed.kind).toBe('index');
    expect(sub.manifests.map((m) => m.digest)).toEqual([arm.digest, sub.top.digest]);
    expect(sub.manifests[0].platform).toBe('linux/arm64');
    expect(sub.blobs.map((b) => b.digest).sort()).toEqual([d('b'), d('c'), d('f')]);
    // walking the subset index again (as the copy engine does) finds the same image
    const again = await walkImage(source, sub.top.digest, sub.top);
    expect(again.manifests.map((m) => m.digest)).toEqual(sub.manifests.map((m) => m.digest));
    expect(await selectPlatforms(whole, ['linux/amd64', 'linux/arm64', 'linux/arm/v7'])).toBe(whole);
  });
});
