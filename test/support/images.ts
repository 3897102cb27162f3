import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { request } from 'undici';

/**
 * Builds synthetic images and pushes them with a minimal uploader of its own,
 * independent of libs/oci, so tests never check the copy engine against itself.
 */

export const MT = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
};

export interface PushedBlob {
  digest: string;
  size: number;
  mediaType: string;
}

export interface PushedImage {
  reference: string;
  digest: string;
  mediaType: string;
  manifest: Buffer;
  config: PushedBlob;
  layers: PushedBlob[];
}

export interface Target {
  /** Base URL such as http://127.0.0.1:5000 */
  url: string;
  /** Host as used in references. */
  host: string;
  authorization?: string;
}

function sha256(b: Buffer): string {
  return 'sha256:' + createHash('sha256').update(b).digest('hex');
}

/** Pushes one blob in a single PUT (small blobs) or a streamed PATCH generated on the fly (large). */
export async function pushBlob(
  t: Target,
  repo: string,
  data: Buffer | { size: number; seed?: number },
  mediaType: string,
): Promise<PushedBlob> {
  const headers: Record<string, string> = t.authorization ? { authorization: t.authorization } : {};
  const start = await request(`${t.url}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers });
  await start.body.dump();
  if (start.statusCode !== 202) throw new Error(`upload start answered ${start.statusCode}`);
  const loc = new URL(String(start.headers.location), t.url);
  if (Buffer.isBuffer(data)) {
    const digest = sha256(data);
    loc.searchParams.set('digest', digest);
    const put = await request(loc, { method: 'PUT', headers: { ...headers, 'content-type': 'application/octet-stream' }, body: data });
    await put.body.dump();
    if (put.statusCode !== 201) throw new Error(`blob PUT answered ${put.statusCode}`);
    return { digest, size: data.length, mediaType };
  }
  // Random, incompressible content streamed in 1 MiB chunks, hashed as it goes.
  const hash = createHash('sha256');
  let left = data.size;
  const gen = Readable.from(
    (function* () {
      while (left > 0) {
        const n = Math.min(left, 1 << 20);
        left -= n;
        const chunk = randomBytes(n);
        hash.update(chunk);
        yield chunk;
      }
    })(),
  );
  const patch = await request(loc, {
    method: 'PATCH',
    headers: { ...headers, 'content-type': 'application/octet-stream', 'content-length': String(data.size) },
    body: gen,
  });
  await patch.body.dump();
  if (patch.statusCode !== 202) throw new Error(`blob PATCH answered ${patch.statusCode}`);
  const digest = 'sha256:' + hash.digest('hex');
  const next = new URL(String(patch.headers.location), t.url);
  next.searchParams.set('digest', digest);
  const put = await request(next, { method: 'PUT', headers: { ...headers, 'content-length': '0' } });
  await put.body.dump();
  if (put.statusCode !== 201) throw new Error(`blob commit answered ${put.statusCode}`);
  return { digest, size: data.size, mediaType };
}

/** Pushes manifest bytes under a tag or digest. */
export async function pushManifest(t: Target, repo: string, ref: string, bytes: Buffer, mediaType: string): Promise<string> {
  const headers: Record<string, string> = { 'content-type': mediaType, ...(t.authorization ? { authorization: t.authorization } : {}) };
  const r = await request(`${t.url}/v2/${repo}/manifests/${ref}`, { method: 'PUT', headers, body: bytes });
  const text = await r.body.text();
  if (r.statusCode !== 201) throw new Error(`manifest PUT answered ${r.statusCode}: ${text}`);
  return sha256(bytes);
}

export interface ImageSpec {
  /** Layer sizes in bytes (random content), or fixed layer contents to share layers across images. */
  layers?: (number | Buffer)[];
  format?: 'docker' | 'oci';
  architecture?: string;
  /** Extra config label so otherwise equal images differ. */
  label?: string;
}

/** Pushes a synthetic single-platform image and tags it. */
export async function pushRandomImage(t: Target, repo: string, tag: string | undefined, spec: ImageSpec = {}): Promise<PushedImage> {
  const oci = spec.format === 'oci';
  const layerMt = oci ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.docker.image.rootfs.diff.tar.gzip';
  const layers: PushedBlob[] = [];
  for (const l of spec.layers ?? [4096]) {
    layers.push(await pushBlob(t, repo, typeof l === 'number' ? (l <= 1 << 20 ? randomBytes(l) : { size: l }) : l, layerMt));
  }
  const config = Buffer.from(
    JSON.stringify({
      architecture: spec.architecture ?? 'amd64',
      os: 'linux',
      config: { Labels: { 'airlock.test': spec.label ?? randomBytes(6).toString('hex') } },
      rootfs: { type: 'layers', diff_ids: layers.map(() => sha256(randomBytes(8))) },
    }),
  );
  const cfg = await pushBlob(
    t,
    repo,
    config,
    oci ? 'application/vnd.oci.image.config.v1+json' : 'application/vnd.docker.container.image.v1+json',
  );
  const mediaType = oci ? MT.ociManifest : MT.dockerManifest;
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      config: { mediaType: cfg.mediaType, digest: cfg.digest, size: cfg.size },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    }),
  );
  const digest = await pushManifest(t, repo, tag ?? sha256(manifest), manifest, mediaType);
  return { reference: `${t.host}/${repo}${tag ? `:${tag}` : `@${digest}`}`, digest, mediaType, manifest, config: cfg, layers };
}

/** Pushes a multi-arch index (Docker manifest list or OCI index) over fresh images for each architecture. */
export async function pushIndex(
  t: Target,
  repo: string,
  tag: string,
  archs: string[],
  spec: ImageSpec = {},
): Promise<{ reference: string; digest: string; mediaType: string; children: PushedImage[] }> {
  const children: PushedImage[] = [];
  for (const a of archs) children.push(await pushRandomImage(t, repo, undefined, { ...spec, architecture: a }));
  const mediaType = spec.format === 'oci' ? MT.ociIndex : MT.dockerList;
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      manifests: children.map((c, i) => ({
        mediaType: c.mediaType,
        digest: c.digest,
        size: c.manifest.length,
        platform: { os: 'linux', architecture: archs[i] },
      })),
    }),
  );
  const digest = await pushManifest(t, repo, tag, index, mediaType);
  return { reference: `${t.host}/${repo}:${tag}`, digest, mediaType, children };
}
