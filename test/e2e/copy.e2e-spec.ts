import { mkdtempSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { CopyEngine, Registries, RegistryError, copyImage } from '@airlock/oci';
import { startRegistry, TestRegistry } from '../support/registry';
import { pushIndex, pushRandomImage, Target } from '../support/images';
import { FaultProxy } from '../support/fault-proxy';
import { skopeo, skopeoRawDigest } from '../support/skopeo';

const insecure = () => ({ insecure: true, retry: { attempts: 4, baseDelayMs: 20, maxDelayMs: 200 } });
const target = (r: { url: string; host: string }): Target => ({ url: r.url, host: r.host });

async function blobExists(url: string, repo: string, digest: string): Promise<boolean> {
  const r = await request(`${url}/v2/${repo}/blobs/${digest}`, { method: 'HEAD' });
  await r.body.dump();
  return r.statusCode === 200;
}

async function manifestExists(url: string, repo: string, ref: string): Promise<boolean> {
  const r = await request(`${url}/v2/${repo}/manifests/${ref}`, {
    method: 'HEAD',
    headers: {
      accept:
        'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json',
    },
  });
  await r.body.dump();
  return r.statusCode === 200;
}

describe('copy engine against real registries and skopeo', () => {
  let a: TestRegistry;
  let b: TestRegistry;
  let work: string;

  beforeAll(async () => {
    [a, b] = await Promise.all([startRegistry(), startRegistry()]);
    work = mkdtempSync(join(tmpdir(), 'airlock-copy-'));
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    rmSync(work, { recursive: true, force: true });
  });

  async function skopeoAgrees(ref: string, digest: string): Promise<void> {
    expect(await skopeoRawDigest(ref)).toBe(digest);
    const out = join(work, `dir-${Math.random().toString(36).slice(2)}`);
    await skopeo(['copy', '--src-tls-verify=false', `docker://${ref}`, `dir:${out}`]);
    expect(readdirSync(out)).toContain('manifest.json');
  }

  it.each(['docker', 'oci'] as const)('copies a single %s image by digest, exactly', async (format) => {
    const img = await pushRandomImage(target(a), `team/single-${format}`, '1.0', { layers: [3 << 20, 200_000, 10], format });
    const res = await copyImage(img.reference, `${b.host}/team/single-${format}:1.0`, { registries: new Registries(insecure) });
    expect(res.digest).toBe(img.digest);
    expect(res.blobsCopied).toBe(4);
    expect(res.bytesMoved).toBe(img.layers.reduce((s, l) => s + l.size, 0) + img.config.size);
    await skopeoAgrees(`${b.host}/team/single-${format}:1.0`, img.digest);
  });

  it('copies a multi-arch index with every platform manifest and its blobs', async () => {
    const idx = await pushIndex(target(a), 'team/multi', 'v1', ['amd64', 'arm64', 's390x'], { layers: [1500_000, 300] });
    const res = await copyImage(idx.reference, `${b.host}/team/multi:v1`, { registries: new Registries(insecure) });
    expect(res.digest).toBe(idx.digest);
    expect(res.blobsCopied).toBe(9);
    expect(res.manifests).toBe(4);
    for (const c of idx.children) expect(await manifestExists(b.url, 'team/multi', c.digest)).toBe(true);
    expect(await skopeoRawDigest(`${b.host}/team/multi:v1`)).toBe(idx.digest);
    const out = join(work, 'multi-all');
    await skopeo(['copy', '--all', '--src-tls-verify=false', `docker://${b.host}/team/multi:v1`, `dir:${out}`]);
  });

  it('skips everything on a re-copy', async () => {
    const img = await pushRandomImage(target(a), 'team/again', 'x', { layers: [2 << 20, 100] });
    const regs = new Registries(insecure);
    const first = await copyImage(img.reference, `${b.host}/team/again:x`, { registries: regs });
    expect(first.blobsCopied).toBe(3);
    const second = await copyImage(img.reference, `${b.host}/team/again:x`, { registries: regs });
    expect(second).toMatchObject({ digest: img.digest, blobsCopied: 0, blobsSkipped: 3, bytesMoved: 0, manifests: 0 });
    // a new tag for the same digest is only a manifest PUT
    const third = await copyImage(img.reference, `${b.host}/team/again:y`, { registries: regs });
    expect(third).toMatchObject({ blobsCopied: 0, bytesMoved: 0, manifests: 1 });
    await regs.close();
    await skopeoAgrees(`${b.host}/team/again:y`, img.digest);
  });

  it('copies from a manifest the caller already fetched without fetching it again, and refuses one whose bytes do not match', async () => {
    const img = await pushRandomImage(target(a), 'team/given', 'g', { layers: [300_000, 10] });
    const proxy = await new FaultProxy(a.url).start();
    try {
      const regs = new Registries(insecure);
      const src = `${proxy.host}/team/given@${img.digest}`;
      const manifest = await regs.client(proxy.host).getManifest('team/given', img.digest);
      const forged = { ...manifest, bytes: Buffer.concat([manifest.bytes, Buffer.from(' ')]) };
      const err = await new CopyEngine(regs).copyImage(src, `${b.host}/team/given:g`, { sourceManifest: forged }).catch((e) => e);
      expect(err).toBeInstanceOf(RegistryError);
      expect(err.code).toBe('BLOB_DIGEST_MISMATCH');
      expect(await blobExists(b.url, 'team/given', img.config.digest)).toBe(false);
      const res = await new CopyEngine(regs).copyImage(src, `${b.host}/team/given:g`, {
        sourceManifest: manifest,
        expectDigest: img.digest,
      });
      expect(res).toMatchObject({ digest: img.digest, blobsCopied: 3 });
      expect(proxy.log.filter((l) => l.method === 'GET' && l.path.includes('/manifests/'))).toHaveLength(1);
      await skopeoAgrees(`${b.host}/team/given:g`, img.digest);
    } finally {
      await proxy.stop();
    }
  });

  it('mounts blobs within one registry instead of copying them', async () => {
    const img = await pushRandomImage(target(a), 'team/src', 'm', { layers: [2 << 20, 1000] });
    const res = await copyImage(img.reference, `${a.host}/other/dst:m`, { registries: new Registries(insecure) });
    expect(res).toMatchObject({ digest: img.digest, blobsMounted: 3, blobsCopied: 0, bytesMoved: 0 });
    await skopeoAgrees(`${a.host}/other/dst:m`, img.digest);
  });

  it('mounts shared layers across a batch to the same destination registry', async () => {
    const base = (await pushRandomImage(target(a), 'batch/base', 'b', { layers: [2 << 20] })).layers[0];
    const regs = new Registries(insecure);
    const engine = new CopyEngine(regs, { concurrency: 4 });
    const imgs = [];
    for (let i = 0; i < 3; i++) {
      const r = await pushRandomImage(target(a), `batch/app${i}`, 't', {
        layers: [await blobBytes(a.url, 'batch/base', base.digest), 500],
      });
      imgs.push(r);
    }
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await engine.copyImage(imgs[i].reference, `${b.host}/batch/app${i}:t`));
    expect(results[0].blobsCopied).toBe(3);
    expect(results[1].blobsMounted).toBe(1);
    expect(results[2].blobsMounted).toBe(1);
    // at once: the shared layer crosses once, the other copies wait and mount it
    const more = [];
    for (let i = 3; i < 6; i++) {
      more.push(
        await pushRandomImage(target(a), `batch/app${i}`, 't', { layers: [await blobBytes(a.url, 'batch/base', base.digest), 500] }),
      );
    }
    const engine2 = new CopyEngine(new Registries(insecure), { concurrency: 4 });
    const parallel = await Promise.all(more.map((im, i) => engine2.copyImage(im.reference, `${b.host}/batchp/app${i}:t`)));
    await Promise.all([engine.close(), engine2.close()]);
    expect(parallel.reduce((s, r) => s + r.blobsMounted, 0)).toBeGreaterThanOrEqual(2);
    for (const [i, im] of more.entries()) expect(await skopeoRawDigest(`${b.host}/batchp/app${i}:t`)).toBe(im.digest);
  });

  it('copies what the tag meant when the copy began, even if the tag moves meanwhile', async () => {
    const proxy = await new FaultProxy(a.url).start();
    try {
      const v1 = await pushRandomImage(target(a), 'team/moving', 'latest', { layers: [2 << 20] });
      proxy.add({ method: 'GET', path: /\/blobs\/sha256:/, fault: { type: 'delay', ms: 400 }, times: 10 });
      const copying = copyImage(`${proxy.host}/team/moving:latest`, `${b.host}/team/moving:latest`, {
        registries: new Registries(insecure),
      });
      await new Promise((r) => setTimeout(r, 100));
      const v2 = await pushRandomImage(target(a), 'team/moving', 'latest', { layers: [1000] });
      const res = await copying;
      expect(res.digest).toBe(v1.digest);
      expect(v2.digest).not.toBe(v1.digest);
      expect(await skopeoRawDigest(`${b.host}/team/moving:latest`)).toBe(v1.digest);
    } finally {
      await proxy.stop();
    }
  });

  it.each([
    ['streamed', 3 << 20],
    ['monolithic', 50_000],
  ])('refuses a %s blob whose bytes do not match and pushes nothing', async (_kind, size) => {
    const proxy = await new FaultProxy(a.url).start();
    try {
      const repo = `team/corrupt-${size}`;
      const img = await pushRandomImage(target(a), repo, 'c', { layers: [size] });
      proxy.add({ method: 'GET', path: new RegExp(`/blobs/${img.layers[0].digest}`), fault: { type: 'corrupt' }, times: 100 });
      const err = await copyImage(`${proxy.host}/${repo}:c`, `${b.host}/${repo}:c`, { registries: new Registries(insecure) }).catch(
        (e) => e,
      );
      expect(err).toBeInstanceOf(RegistryError);
      expect(err.code).toBe('BLOB_DIGEST_MISMATCH');
      expect(await blobExists(b.url, repo, img.layers[0].digest)).toBe(false);
      expect(await manifestExists(b.url, repo, 'c')).toBe(false);
      expect(await manifestExists(b.url, repo, img.digest)).toBe(false);
    } finally {
      await proxy.stop();
    }
  });

  it('starts a new upload session when the registry loses one, and when a connection drops mid-upload', async () => {
    const proxy = await new FaultProxy(b.url).start();
    try {
      const img = await pushRandomImage(target(a), 'team/dropped', 'd', { layers: [3 << 20, 4 << 20] });
      proxy.add({
        method: 'PATCH',
        path: /\/blobs\/uploads\//,
        fault: {
          type: 'status',
          status: 404,
          body: '{"errors":[{"code":"BLOB_UPLOAD_UNKNOWN","message":"blob upload unknown to registry"}]}',
        },
      });
      proxy.add({ method: 'PATCH', path: /\/blobs\/uploads\//, fault: { type: 'reset' } });
      const res = await copyImage(img.reference, `${proxy.host}/team/dropped:d`, { registries: new Registries(insecure) });
      expect(res.digest).toBe(img.digest);
      expect(proxy.log.filter((l) => l.method === 'PATCH').length).toBeGreaterThanOrEqual(4);
      await skopeoAgrees(`${b.host}/team/dropped:d`, img.digest);
    } finally {
      await proxy.stop();
    }
  });

  it('backs off on 503 and on 429 with Retry-After, then succeeds; pushes the manifest after its blobs', async () => {
    const proxy = await new FaultProxy(b.url).start();
    try {
      const img = await pushRandomImage(target(a), 'team/busy', 'b', { layers: [2 << 20, 100] });
      proxy.add({ method: 'HEAD', path: /\/blobs\//, fault: { type: 'status', status: 503 }, times: 2 });
      proxy.add({ method: 'POST', path: /\/blobs\/uploads\//, fault: { type: 'status', status: 429, headers: { 'retry-after': '1' } } });
      proxy.add({ method: 'PUT', path: /\/manifests\//, fault: { type: 'status', status: 502 } });
      const t0 = Date.now();
      const res = await copyImage(img.reference, `${proxy.host}/team/busy:b`, { registries: new Registries(insecure) });
      expect(res.digest).toBe(img.digest);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
      const lastBlobCommit = Math.max(
        ...proxy.log.filter((l) => l.method === 'PUT' && /uploads/.test(l.path) && l.status === 201).map((l) => proxy.log.indexOf(l)),
      );
      const manifestPut = proxy.log.findIndex((l) => l.method === 'PUT' && /manifests/.test(l.path) && l.status === 201);
      expect(manifestPut).toBeGreaterThan(lastBlobCommit);
    } finally {
      await proxy.stop();
    }
  });

  it('gives up on a blob that stalls mid-stream and fetches it again', async () => {
    const proxy = await new FaultProxy(a.url).start();
    try {
      const img = await pushRandomImage(target(a), 'team/stall', 's', { layers: [3 << 20] });
      proxy.add({ method: 'GET', path: new RegExp(`/blobs/${img.layers[0].digest}`), fault: { type: 'stall-after', bytes: 1 << 20 } });
      const t0 = Date.now();
      const res = await copyImage(`${proxy.host}/team/stall:s`, `${b.host}/team/stall:s`, {
        registries: new Registries(() => ({ ...insecure(), bodyTimeoutMs: 1000 })),
      });
      expect(res.digest).toBe(img.digest);
      expect(Date.now() - t0).toBeLessThan(15_000);
      expect(proxy.log.filter((l) => l.method === 'GET' && l.path.includes(img.layers[0].digest)).length).toBe(2);
    } finally {
      await proxy.stop();
    }
  });

  it('fails with REGISTRY_UNAVAILABLE when the registry keeps failing, and leaves no manifest', async () => {
    const proxy = await new FaultProxy(b.url).start();
    try {
      const img = await pushRandomImage(target(a), 'team/down', 'x', { layers: [100] });
      proxy.add({ path: /\/blobs\//, fault: { type: 'status', status: 503 }, times: 1000 });
      const err = await copyImage(img.reference, `${proxy.host}/team/down:x`, { registries: new Registries(insecure) }).catch((e) => e);
      expect(err.code).toBe('REGISTRY_UNAVAILABLE');
      expect(await manifestExists(b.url, 'team/down', 'x')).toBe(false);
    } finally {
      await proxy.stop();
    }
  });

  it('names the missing manifest with MANIFEST_UNKNOWN', async () => {
    const err = await copyImage(`${a.host}/nothing/here:1`, `${b.host}/nothing/here:1`, { registries: new Registries(insecure) }).catch(
      (e) => e,
    );
    expect(err.code).toBe('MANIFEST_UNKNOWN');
  });

  it('refuses plain HTTP unless the registry is marked insecure', async () => {
    const img = await pushRandomImage(target(a), 'team/tls', 't', { layers: [10] });
    const err = await copyImage(img.reference, `${b.host}/team/tls:t`, {
      registries: new Registries(() => ({ retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 } })),
    }).catch((e) => e);
    expect(err.code).toBe('REGISTRY_UNAVAILABLE');
    expect(err.message).toMatch(/insecure/);
  });
});

async function blobBytes(url: string, repo: string, digest: string): Promise<Buffer> {
  const r = await request(`${url}/v2/${repo}/blobs/${digest}`);
  return Buffer.from(await r.body.arrayBuffer());
}
