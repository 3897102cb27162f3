import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What a CI job signing with cosign leaves in a registry, written by code of
 * its own (not airlock's store): keys and signatures by openssl (cosign's
 * signatures are ECDSA-SHA256 over the payload bytes, as its EXAMPLES.md
 * shows by signing with openssl), the payload cosign writes, and the tag-form
 * signature manifest pushed with plain HTTP calls.
 */
const sha = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');

/** An ECDSA P-256 key pair made by openssl: DIR/NAME.key (PEM, unencrypted, as openssl writes it) and DIR/NAME.pub. */
export function opensslKeyPair(dir: string, name: string): { key: string; pub: string } {
  const key = join(dir, `${name}.key`);
  const pub = join(dir, `${name}.pub`);
  execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
  execFileSync('openssl', ['ec', '-in', key, '-pubout', '-out', pub], { stdio: 'ignore' });
  return { key, pub };
}

/** The payload cosign signs for an image: the repository as identity, `optional` null. */
export function cosignPayload(repository: string, digest: string): Buffer {
  return Buffer.from(
    `{"critical":{"identity":{"docker-reference":"${repository}"},"image":{"docker-manifest-digest":"${digest}"},"type":"cosign container image signature"},"optional":null}`,
  );
}

/** base64 of openssl's ECDSA-SHA256 signature of the bytes. */
export function opensslSign(keyFile: string, payload: Buffer, dir: string): string {
  const f = join(dir, `payload-${Math.random().toString(36).slice(2)}`);
  writeFileSync(f, payload);
  return execFileSync('openssl', ['dgst', '-sha256', '-sign', keyFile, f]).toString('base64');
}

/** True when openssl verifies the base64 signature of the bytes with the PEM public key file. */
export function opensslVerify(pubFile: string, payload: Buffer, signatureB64: string, dir: string): boolean {
  const f = join(dir, `payload-${Math.random().toString(36).slice(2)}`);
  writeFileSync(f, payload);
  writeFileSync(`${f}.sig`, Buffer.from(signatureB64, 'base64'));
  try {
    return execFileSync('openssl', ['dgst', '-sha256', '-verify', pubFile, '-signature', `${f}.sig`, f])
      .toString()
      .includes('Verified OK');
  } catch {
    return false;
  }
}

async function pushBlob(url: string, repo: string, bytes: Buffer): Promise<string> {
  const digest = sha(bytes);
  const start = await fetch(`${url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  const loc = new URL(start.headers.get('location') as string, url);
  loc.searchParams.set('digest', digest);
  const put = await fetch(loc, { method: 'PUT', body: bytes, headers: { 'content-type': 'application/octet-stream' } });
  if (put.status !== 201) throw new Error(`blob push ${put.status}`);
  return digest;
}

/**
 * Pushes the tag-form signature manifest `sha256-<hex>.sig` with these layers
 * (payload, base64 signature, extra annotations such as a certificate, or a
 * declared size that lies), replacing any there.
 */
export async function attachCosignSignatures(
  registryUrl: string,
  repo: string,
  digest: string,
  layers: { payload: Buffer; signature: string; annotations?: Record<string, string>; declaredSize?: number }[],
): Promise<void> {
  const descs = [];
  for (const l of layers) {
    const d = await pushBlob(registryUrl, repo, l.payload);
    descs.push({
      mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
      size: l.declaredSize ?? l.payload.length,
      digest: d,
      annotations: { 'dev.cosignproject.cosign/signature': l.signature, ...(l.annotations ?? {}) },
    });
  }
  const config = Buffer.from(
    JSON.stringify({ architecture: '', os: '', rootfs: { type: 'layers', diff_ids: descs.map((d) => d.digest) }, config: {} }),
  );
  const cd = await pushBlob(registryUrl, repo, config);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: config.length, digest: cd },
    layers: descs,
  });
  const r = await fetch(`${registryUrl}/v2/${repo}/manifests/${digest.replace(':', '-')}.sig`, {
    method: 'PUT',
    body: manifest,
    headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
  });
  if (r.status !== 201) throw new Error(`signature manifest push ${r.status}: ${await r.text()}`);
}

/** The layers of an image's tag-form signature manifest, with each payload; [] when there is none. */
export async function readCosignSignatures(
  registryUrl: string,
  repo: string,
  digest: string,
): Promise<{ payload: Buffer; signature: string; annotations: Record<string, string> }[]> {
  const r = await fetch(`${registryUrl}/v2/${repo}/manifests/${digest.replace(':', '-')}.sig`, {
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  if (r.status === 404) return [];
  const m = (await r.json()) as { layers: { digest: string; annotations: Record<string, string> }[] };
  const out = [];
  for (const l of m.layers) {
    const payload = Buffer.from(await (await fetch(`${registryUrl}/v2/${repo}/blobs/${l.digest}`)).arrayBuffer());
    out.push({ payload, signature: l.annotations['dev.cosignproject.cosign/signature'], annotations: l.annotations });
  }
  return out;
}

/** Attaches an artifact under cosign's tag for it (`sha256-<hex>.att`, `.sbom`): one layer of the given type over an empty config; returns the manifest's digest. */
export async function attachTagged(
  registryUrl: string,
  repo: string,
  digest: string,
  kind: string,
  mediaType: string,
  body: string,
): Promise<string> {
  const blob = Buffer.from(body);
  const d = await pushBlob(registryUrl, repo, blob);
  const ed = await pushBlob(registryUrl, repo, Buffer.from('{}'));
  const m = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: 2, digest: ed },
    layers: [{ mediaType, size: blob.length, digest: d }],
  });
  const r = await fetch(`${registryUrl}/v2/${repo}/manifests/${digest.replace(':', '-')}.${kind}`, {
    method: 'PUT',
    body: m,
    headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
  });
  if (r.status !== 201) throw new Error(`attachment push ${r.status}`);
  return r.headers.get('docker-content-digest') as string;
}
