import { createHash, randomUUID, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GpgHome } from './gpg';
import { skopeo } from './skopeo';
import * as openpgp from 'openpgp';
import { seipdSealer } from '../../libs/bundle/src/seipd';
import { CraftEntry, craftTar } from './tar-craft';
import { ZipCraftEntry, craftZip } from './zip-craft';

/**
 * Transfer bundles made the way an adversary would: by code of their own, not
 * airlock's writer. Images and OCI layouts are built here byte by byte, the
 * source stage signatures are made by `skopeo standalone-sign`, the tar by
 * tar-craft.ts and the OpenPGP message by gpg. Every part can be made wrong
 * on purpose, while the sender key stays the genuinely trusted one.
 */

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export interface CraftImage {
  /** Repository path under both registries, e.g. team/app. */
  repo: string;
  tag: string;
  /** Layer sizes (random bytes), or layer contents. */
  layers?: (number | Buffer)[];
  /** false: no source signature; 'other': signed by the other key; 'wrong-digest': a signature for another digest. */
  signed?: boolean | 'other' | 'wrong-digest';
}

export interface BuiltImage {
  repo: string;
  tag: string;
  digest: string;
  manifest: Buffer;
  config: Buffer;
  layers: Buffer[];
  source: string;
  target: string;
}

export interface CraftOptions {
  images: CraftImage[];
  sequence: number;
  id?: string;
  created?: Date;
  expires?: Date;
  /** Changes bundle.json after it is built (its entries list is already filled in). */
  editManifest?(m: Record<string, unknown>, built: BuiltImage[]): void;
  /** Raw bundle.json bytes instead of the JSON of the (edited) manifest. */
  manifestBytes?(json: string): Buffer;
  /** Changes the tar entries after bundle.json (their content or order; add or drop some). */
  editEntries?(entries: CraftEntry[], built: BuiltImage[]): CraftEntry[];
  /** Tar options: no end-of-archive, bytes after it, or cut the tar at this many bytes. */
  tar?: { end?: boolean; after?: Buffer; cutAt?: number };
  /** Who signs the bundle: the trusted sender (default), the other key, or nobody. */
  signer?: 'sender' | 'other' | 'none';
  /** gpg compression algorithm (none by default; 'zlib' for a compressed packet). */
  compress?: 'none' | 'zlib';
  /** Encrypt to the high side (default true). */
  encrypt?: boolean;
}

/** A side of the gap as the crafter knows it: the keys in its gpg home and the registries images name. */
export class BundleCrafter {
  readonly gpg = new GpgHome();
  private senderFpr = '';
  private otherFpr = '';
  private recipientFpr = '';

  constructor(
    private readonly o: {
      /** Armored private key of the trusted sender (which also signs the source stage signatures) and its passphrase. */
      senderKey: string;
      senderPassphrase: string;
      /** Armored public key of the high side, bundles are encrypted to it. */
      recipientKey: string;
      sourceHost: string;
      targetHost: string;
      channel: string;
      from: string;
      to: string;
    },
  ) {}

  async init(): Promise<void> {
    const dir = this.gpg.dir;
    writeFileSync(join(dir, 'sender.key'), this.o.senderKey);
    writeFileSync(join(dir, 'recipient.pub'), this.o.recipientKey);
    writeFileSync(join(dir, 'pass'), this.o.senderPassphrase);
    await this.gpg.ok(['--passphrase', this.o.senderPassphrase, '--import', join(dir, 'sender.key')]);
    await this.gpg.ok(['--import', join(dir, 'recipient.pub')]);
    // the primary key's fingerprint is the first fpr record of a key file (subkeys follow)
    const primary = async (file: string) =>
      /^fpr:::::::::([0-9A-F]{40}):/m.exec((await this.gpg.ok(['--with-colons', '--show-keys', file])).toString())?.[1] as string;
    this.senderFpr = await primary(join(dir, 'sender.key'));
    this.recipientFpr = await primary(join(dir, 'recipient.pub'));
    this.otherFpr = await this.gpg.generate('mallory <mallory@example.invalid>');
  }

  get senderFingerprint(): string {
    return this.senderFpr;
  }

  /** An image built byte by byte: config, layers, OCI manifest. */
  buildImage(spec: CraftImage): BuiltImage {
    const layers = (spec.layers ?? [4096]).map((l) => (typeof l === 'number' ? randomBytes(l) : l));
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        rootfs: { type: 'layers', diff_ids: layers.map((l) => `sha256:${sha256(l)}`) },
        config: {},
      }),
    );
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${sha256(config)}`, size: config.length },
        layers: layers.map((l) => ({
          mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
          digest: `sha256:${sha256(l)}`,
          size: l.length,
        })),
      }),
    );
    return {
      repo: spec.repo,
      tag: spec.tag,
      digest: `sha256:${sha256(manifest)}`,
      manifest,
      config,
      layers,
      source: `${this.o.sourceHost}/${spec.repo}:${spec.tag}`,
      target: `${this.o.targetHost}/${spec.repo}:${spec.tag}`,
    };
  }

  /** A simple signing signature by skopeo with the sender key (or the other key), for `identity` and the manifest's digest. */
  async sourceSignature(manifest: Buffer, identity: string, by: 'sender' | 'other' = 'sender'): Promise<Buffer> {
    const dir = mkdtempSync(join(this.gpg.dir, 'sig-'));
    writeFileSync(join(dir, 'manifest.json'), manifest);
    const args = [
      'standalone-sign',
      join(dir, 'manifest.json'),
      identity,
      by === 'sender' ? this.senderFpr : this.otherFpr,
      '-o',
      join(dir, 'sig'),
    ];
    await skopeo(by === 'sender' ? [...args.slice(0, 1), '--passphrase-file', join(this.gpg.dir, 'pass'), ...args.slice(1)] : args, {
      env: this.gpg.env,
    });
    return readFileSync(join(dir, 'sig'));
  }

  /** The tar entries and bundle.json of a bundle, before sealing. */
  async entries(o: CraftOptions): Promise<{ tar: Buffer; manifest: Record<string, unknown>; built: BuiltImage[]; files: CraftEntry[] }> {
    const built = o.images.map((i) => this.buildImage(i));
    const files: CraftEntry[] = [];
    const add = (name: string, data: Buffer) => {
      if (!files.some((f) => f.name === name)) files.push({ name, data });
    };
    add('oci/oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}'));
    add(
      'oci/index.json',
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          manifests: built.map((b) => ({
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            digest: b.digest,
            size: b.manifest.length,
            annotations: { 'org.opencontainers.image.ref.name': `${b.repo}:${b.tag}` },
          })),
        }),
      ),
    );
    for (const [i, b] of built.entries()) {
      for (const blob of [b.manifest, b.config, ...b.layers]) add(`oci/blobs/sha256/${sha256(blob)}`, blob);
      const signed = o.images[i].signed ?? true;
      if (signed === false) continue;
      const sig =
        signed === 'wrong-digest'
          ? await this.sourceSignature(Buffer.from(b.manifest.toString().replace('"schemaVersion":2', '"schemaVersion":2 ')), b.source)
          : await this.sourceSignature(b.manifest, b.source, signed === 'other' ? 'other' : 'sender');
      add(`signatures/${b.repo}@${b.digest.replace(':', '=')}/signature-1`, sig);
    }
    const created = o.created ?? new Date();
    const manifest: Record<string, unknown> = {
      format: 'airlock-bundle/v1',
      id: o.id ?? randomUUID(),
      channel: this.o.channel,
      source: this.o.from,
      target: this.o.to,
      sequence: o.sequence,
      created: created.toISOString(),
      expires: (o.expires ?? new Date(created.getTime() + 24 * 3_600_000)).toISOString(),
      sender: this.senderFpr,
      full: true,
      images: built.map((b) => ({
        promotionId: randomUUID(),
        source: b.source,
        target: b.target,
        digest: b.digest,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        requester: 'alice',
        reason: 'crafted',
        requestedAt: created.toISOString(),
        approvals: [{ approver: 'bob', role: 'approver', comment: '', at: created.toISOString() }],
      })),
      entries: files.map((f) => ({ name: f.name, size: f.data.length, sha256: sha256(f.data) })),
    };
    o.editManifest?.(manifest, built);
    const json = JSON.stringify(manifest, null, 2);
    const head: CraftEntry = { name: 'bundle.json', data: o.manifestBytes ? o.manifestBytes(json) : Buffer.from(json) };
    const body = o.editEntries ? o.editEntries(files, built) : files;
    let tar = craftTar([head, ...body], { end: o.tar?.end, after: o.tar?.after });
    if (o.tar?.cutAt !== undefined) tar = tar.subarray(0, o.tar.cutAt);
    return { tar, manifest, built, files: body };
  }

  /**
   * A format-2 bundle of one volume: the index (bundle.json's header, every
   * entry in one part) signed and encrypted by gpg, each entry sealed to the
   * recipient under one session key (seipd.ts's framing: the shape airlock
   * reads; the structure around it is this crafter's own), the zip written
   * by zip-craft.ts. `zip` edits the volume's entries before they are
   * written (with the sealing at hand, and the index); `editIndex` the index.
   */
  async craftV2(
    dir: string,
    o: CraftOptions & {
      zip?(entries: ZipCraftEntry[], ctx: { seal(data: Buffer): Buffer; index: Record<string, unknown> }): ZipCraftEntry[];
      editIndex?(index: Record<string, unknown>): void;
      volume?: number;
    },
  ): Promise<{ files: string[]; built: BuiltImage[]; index: Record<string, unknown> }> {
    const { manifest, built, files } = await this.entries(o);
    const manifests = new Set(built.map((b) => b.digest.slice(7)));
    const role = (name: string) =>
      name.startsWith('signatures/')
        ? 'signature'
        : /^oci\/(oci-layout|index\.json)$/.test(name)
          ? 'layout'
          : manifests.has(name.split('/').pop() as string)
            ? 'manifest'
            : 'blob';
    const { format: _f, entries: _e, ...header } = manifest;
    const part = (i: number) => `e/${String(i + 1).padStart(6, '0')}.pgp`;
    const index: Record<string, unknown> = {
      format: 'airlock-bundle/v2',
      ...header,
      encrypted: true,
      volumes: o.volume ?? 1,
      entries: files.map((f, i) => ({
        path: f.name,
        role: role(f.name),
        size: f.data.length,
        sha256: sha256(f.data),
        parts: [{ volume: o.volume ?? 1, entry: part(i), size: f.data.length, sha256: sha256(f.data) }],
      })),
    };
    o.editIndex?.(index);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'index.json'), JSON.stringify(index));
    const sealedIndex = await this.gpg.ok([
      '--trust-model',
      'always',
      '--compress-algo',
      'none',
      '--passphrase',
      this.o.senderPassphrase,
      '--local-user',
      this.senderFpr,
      '--recipient',
      this.recipientFpr,
      '--encrypt',
      '--sign',
      '--output',
      '-',
      join(dir, 'index.json'),
    ]);
    const key = randomBytes(32);
    const head = Buffer.from(
      await openpgp.encryptSessionKey({
        data: key,
        algorithm: 'aes256',
        encryptionKeys: await openpgp.readKey({ armoredKey: this.o.recipientKey }),
        format: 'binary',
      }),
    );
    const seal = (data: Buffer) => {
      const s = seipdSealer(key, head, data.length);
      return Buffer.concat([s.head, s.update(data), s.final()]);
    };
    let zip: ZipCraftEntry[] = [{ name: 'index.pgp', data: sealedIndex }, ...files.map((f, i) => ({ name: part(i), data: seal(f.data) }))];
    if (o.zip) zip = o.zip(zip, { seal, index });
    const file = join(
      dir,
      `airlock-${this.o.channel}-${String(o.sequence).padStart(6, '0')}.${String(o.volume ?? 1).padStart(3, '0')}.zip`,
    );
    writeFileSync(file, craftZip(zip));
    return { files: [file], built, index };
  }

  /** Seals a tar with gpg (signed by the chosen key, encrypted to the high side) and writes it as one volume with its volume index. */
  async seal(tar: Buffer, dir: string, o: CraftOptions, manifest: Record<string, unknown>): Promise<string[]> {
    mkdirSync(dir, { recursive: true });
    const input = join(dir, 'bundle.tar');
    writeFileSync(input, tar);
    const base = `airlock-${this.o.channel}-${String(o.sequence).padStart(6, '0')}.pgp`;
    const out = join(dir, `${base}.001`);
    const signer = o.signer ?? 'sender';
    const args = ['--trust-model', 'always', '--compress-algo', o.compress ?? 'none', '--output', out];
    if (signer === 'sender') args.push('--passphrase', this.o.senderPassphrase, '--local-user', this.senderFpr);
    if (signer === 'other') args.push('--local-user', this.otherFpr);
    if (o.encrypt !== false) args.push('--recipient', this.recipientFpr, '--encrypt');
    if (signer !== 'none') args.push('--sign');
    else if (o.encrypt === false) args.push('--store');
    await this.gpg.ok([...args, input]);
    const vol = readFileSync(out);
    const index = {
      format: 'airlock-bundle-volumes/v1',
      id: manifest.id,
      channel: this.o.channel,
      sequence: o.sequence,
      encrypted: o.encrypt !== false,
      volumes: [{ name: `${base}.001`, size: vol.length, sha256: sha256(vol) }],
    };
    writeFileSync(join(dir, base.replace(/\.pgp$/, '.volumes.json')), JSON.stringify(index));
    return [out, join(dir, base.replace(/\.pgp$/, '.volumes.json'))];
  }

  /** A whole bundle in `dir`: its volume and volume index paths, and the images it carries. */
  async craft(dir: string, o: CraftOptions): Promise<{ files: string[]; built: BuiltImage[]; manifest: Record<string, unknown> }> {
    const { tar, manifest, built } = await this.entries(o);
    return { files: await this.seal(tar, dir, o, manifest), built, manifest };
  }

  close(): void {
    this.gpg.close();
  }
}
