import { setTimeout as sleep } from 'node:timers/promises';
import { JsonValue, readStrictJson } from '@airlock/common';
import {
  Descriptor,
  MediaTypes,
  RegistryClient,
  RegistryError,
  RegistryRepository,
  attachedManifest,
  putSmallBlob,
  referrersOf,
  sameLayer,
  sha256Digest,
} from '@airlock/oci';
import {
  COSIGN_SIGN_PREDICATE,
  SIGSTORE_BUNDLE_MEDIA_TYPE,
  SignatureError,
  SigstorePublicKey,
  SigstoreSignature,
  SigstoreSignatureStore,
  sigstoreSigner,
} from '@airlock/signing';

/**
 * Sigstore signatures in the registry, the tag form (docs/formats.md,
 * "Sigstore signatures"): tag `sha256-<hex>.sig` in the image's repository,
 * an OCI manifest with one layer per signature, each layer the payload blob
 * (`application/vnd.dev.cosign.simplesigning.v1+json`) with the base64
 * signature in the annotation `dev.cosignproject.cosign/signature`, as cosign
 * 1.x/2.x writes and containers/image (use-sigstore-attachments), Kyverno,
 * policy-controller and Connaisseur read.
 */

export const SIMPLESIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
export const CERTIFICATE_ANNOTATION = 'dev.sigstore.cosign/certificate';
/** Caps checked before anything is downloaded: the manifest (the registry client refuses more than 4 MiB), its layers, each payload. */
const MAX_LAYERS = 256;
const MAX_PAYLOAD = 1 << 20;
const WRITE_ATTEMPTS = 6;
/** How long a written signature must stay before it counts: a writer that read before our write and writes after it is seen, and merged. */
const SETTLE_MS = 25;

/** Writers of one signature manifest in this process take turns; other processes are caught by the read after the settle. */
const turns = new Map<string, Promise<unknown>>();
async function inTurn<T>(key: string, f: () => Promise<T>): Promise<T> {
  const before = turns.get(key) ?? Promise.resolve();
  const mine = before.catch(() => undefined).then(f);
  turns.set(key, mine);
  try {
    return await mine;
  } finally {
    if (turns.get(key) === mine) turns.delete(key);
  }
}

/** At most this many referrers of one image are read. */
const MAX_REFERRERS = 64;
const EMPTY_CONFIG = Buffer.from('{}');
const EMPTY_MEDIA_TYPE = 'application/vnd.oci.empty.v1+json';

/** The tag of the referrers tag-schema fallback (registries without the referrers API): `sha256-<hex>`, an index of referrers. */
export const referrersFallbackTag = (digest: string): string => digest.replace(':', '-');

/** The tag a signature manifest lives under: `sha256-<hex>.sig`. */
export const sigstoreSignatureTag = (digest: string): string => `${digest.replace(':', '-')}.sig`;

/** A layer of a signature manifest (tag form). */
export interface Layer {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

/** A signature's layer in the tag form: its payload blob, the base64 signature in the annotation. */
export function signatureLayer(s: SigstoreSignature): Layer {
  return {
    mediaType: SIMPLESIGNING_MEDIA_TYPE,
    size: s.payload.length,
    digest: sha256Digest(s.payload),
    annotations: { [SIGNATURE_ANNOTATION]: s.signature },
  };
}

function bad(message: string): SignatureError {
  return new SignatureError('SIGNATURE_FORMAT', `sigstore signature manifest: ${message}`);
}

function layersOf(bytes: Buffer): Layer[] {
  const doc = readStrictJson(bytes, (why) => bad(`not valid JSON: ${why}`));
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc) || !Array.isArray(doc.layers)) throw bad('no layers');
  if (doc.layers.length > MAX_LAYERS)
    throw new SignatureError(
      'SIGNATURE_TOO_LARGE',
      `sigstore signature manifest: ${doc.layers.length} layers, more than ${MAX_LAYERS}; refusing it`,
    );
  return doc.layers.map((l, i) => {
    if (typeof l !== 'object' || l === null || Array.isArray(l)) throw bad(`layer ${i} is not an object`);
    const { mediaType, digest, size, annotations } = l as Record<string, JsonValue>;
    if (
      typeof mediaType !== 'string' ||
      typeof digest !== 'string' ||
      !/^sha256:[a-f0-9]{64}$/.test(digest) ||
      typeof size !== 'number' ||
      !Number.isSafeInteger(size) ||
      size < 0
    )
      throw bad(`layer ${i} has no valid mediaType, digest and size`);
    if (
      annotations !== undefined &&
      (typeof annotations !== 'object' ||
        annotations === null ||
        Array.isArray(annotations) ||
        Object.values(annotations).some((v) => typeof v !== 'string'))
    )
      throw bad(`layer ${i} has annotations that are not strings`);
    return { mediaType, digest, size, annotations: annotations as Record<string, string> | undefined };
  });
}

/** The image's signatures in its registry (tag form), read and written with the caps of SECURITY.md. */
/** A signature layer of the tag form with its payload, as read: what another stage's `.sig` carries into this one. */
export interface TaggedLayer {
  layer: Layer;
  payload: Buffer;
}

export class RegistrySigstoreStore implements SigstoreSignatureStore {
  /** The layers this store read last for each image (a promotion's verify step), kept for the sign step that carries them. */
  private readonly read = new Map<string, TaggedLayer[]>();

  constructor(private readonly client: RegistryClient) {}

  /** The image's tag-form layers with their payloads (those read already are not read again); unreadable ones are left out. */
  async taggedLayers(repository: string, digest: string): Promise<TaggedLayer[]> {
    const key = `${repository}@${digest}`;
    if (!this.read.has(key)) await this.listTagged(repository, digest);
    return this.read.get(key) ?? [];
  }

  private async layers(repository: string, digest: string): Promise<Layer[]> {
    // one GET (a 404 is "no signatures"), not a HEAD and then a GET: every read is on the promotion's path
    let m;
    try {
      m = await this.client.getManifest(repository, sigstoreSignatureTag(digest));
    } catch (e) {
      if (e instanceof RegistryError && e.code === 'MANIFEST_UNKNOWN') return [];
      throw e;
    }
    return layersOf(m.bytes);
  }

  private async payload(repository: string, l: Layer): Promise<Buffer> {
    if (l.size > MAX_PAYLOAD)
      throw new SignatureError('SIGNATURE_TOO_LARGE', `a sigstore payload of ${l.size} bytes, more than ${MAX_PAYLOAD}; refused unread`);
    const { body } = await this.client.openBlob(repository, l.digest);
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of body as AsyncIterable<Buffer>) {
      n += c.length;
      if (n > l.size) {
        body.destroy();
        throw new SignatureError('SIGNATURE_TOO_LARGE', `the sigstore payload ${l.digest} is longer than its ${l.size} bytes`);
      }
      chunks.push(c);
    }
    const bytes = Buffer.concat(chunks);
    if (sha256Digest(bytes) !== l.digest || bytes.length !== l.size) throw bad(`payload ${l.digest} does not match its bytes`);
    return bytes;
  }

  /** The referrer descriptors of an image: the referrers API's answer, or the tag-schema fallback's index. */
  private referrers(repository: string, digest: string): Promise<{ descs: Descriptor[]; api: boolean }> {
    return referrersOf(new RegistryRepository(this.client, repository), digest);
  }

  /** The sigstore bundles among an image's referrers (the referrer form), each read with its caps. */
  async listBundles(repository: string, digest: string): Promise<SigstoreSignature[]> {
    const out: SigstoreSignature[] = [];
    const found = (await this.referrers(repository, digest)).descs.filter((d) => d.artifactType === SIGSTORE_BUNDLE_MEDIA_TYPE);
    for (const d of found.slice(0, MAX_REFERRERS)) {
      try {
        if (typeof d.digest !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(d.digest)) throw bad('a referrer without a valid digest');
        const [layer] = layersOf((await this.client.getManifest(repository, d.digest)).bytes);
        if (!layer || layer.mediaType !== SIGSTORE_BUNDLE_MEDIA_TYPE)
          throw bad(`referrer ${d.digest} holds no ${SIGSTORE_BUNDLE_MEDIA_TYPE} layer`);
        out.push({ payload: Buffer.alloc(0), signature: '', bundle: await this.payload(repository, layer) });
      } catch (e) {
        if (!(e instanceof SignatureError)) throw e;
        out.push({ payload: Buffer.alloc(0), signature: '', problem: e });
      }
    }
    return out;
  }

  /** Every signature of the image in the registry: the tag form's layers in order, then the referrer form's bundles; one that cannot be read carries its refusal. */
  async list(repository: string, digest: string): Promise<SigstoreSignature[]> {
    const [tagged, bundles] = await Promise.all([this.listTagged(repository, digest), this.listBundles(repository, digest)]);
    return [...tagged, ...bundles];
  }

  /** The tag form's layers, in order. */
  async listTagged(repository: string, digest: string): Promise<SigstoreSignature[]> {
    const layers = (await this.layers(repository, digest)).filter((l) => l.mediaType === SIMPLESIGNING_MEDIA_TYPE);
    const good: TaggedLayer[] = [];
    // the payloads at once, kept in layer order
    const out = await Promise.all(
      layers.map(async (l): Promise<SigstoreSignature> => {
        const signature = l.annotations?.[SIGNATURE_ANNOTATION] ?? '';
        const certificate = l.annotations?.[CERTIFICATE_ANNOTATION];
        try {
          const payload = await this.payload(repository, l);
          good.push({ layer: l, payload });
          return { payload, signature, ...(certificate !== undefined ? { certificate } : {}) };
        } catch (e) {
          if (!(e instanceof SignatureError)) throw e;
          return { payload: Buffer.alloc(0), signature, problem: e };
        }
      }),
    );
    this.read.set(
      `${repository}@${digest}`,
      layers.flatMap((l) => good.filter((g) => g.layer === l)),
    );
    return out;
  }

  /**
   * Adds a signature, keeping every layer already there (read, append,
   * write). The registry has no compare-and-swap: writers in this process
   * take turns, and the manifest is read again a moment after the write and
   * written again with ours merged in when another process replaced it in
   * between, so neither signature disappears. Adding a signature that is
   * there already changes nothing; with `own`, neither does adding one when
   * a signature of that key over the same payload is there (a payload is
   * the identity and the digest, the same bytes every time: a re-run that
   * signs again finds its earlier signature without reading first).
   */
  add(
    repository: string,
    digest: string,
    s: SigstoreSignature | undefined,
    carry: TaggedLayer[] = [],
    own?: SigstorePublicKey,
  ): Promise<{ n: number; added: boolean }> {
    return inTurn(`${this.client.registry}/${repository}@${digest}`, () => this.addNow(repository, digest, s, carry, own));
  }

  /**
   * Adds our signature (if any) and the layers carried from another stage's
   * `.sig` the destination lacks, in one write; returns our layer's number
   * (0 without one).
   */
  private async addNow(
    repository: string,
    digest: string,
    s: SigstoreSignature | undefined,
    carry: TaggedLayer[],
    own?: SigstorePublicKey,
  ): Promise<{ n: number; added: boolean }> {
    const mine = s && signatureLayer(s);
    const ours = (l: Layer) => {
      if (!s || l.digest !== mine?.digest) return false;
      const signature = l.annotations?.[SIGNATURE_ANNOTATION];
      return signature === s.signature || (!!own && signature !== undefined && !!sigstoreSigner(s.payload, signature, [own]));
    };
    // ours was added by this call when the first read did not find it (a write of carried layers alone adds nothing of ours)
    let there: boolean | undefined;
    for (let attempt = 1; ; attempt++) {
      const current = await this.layers(repository, digest);
      const found = current.findIndex(ours);
      there ??= found >= 0;
      const missing = carry.filter((c) => !current.some((l) => sameLayer(l, c.layer)));
      if ((!s || found >= 0) && !missing.length) return { n: found + 1, added: !!s && !there };
      if (attempt > WRITE_ATTEMPTS)
        throw new RegistryError(
          'REGISTRY_UNAVAILABLE',
          `the signatures of ${repository}@${digest} did not stay in ${sigstoreSignatureTag(digest)} after ${WRITE_ATTEMPTS} writes: another writer keeps replacing them`,
        );
      if (attempt > 1) await sleep(20 * attempt + Math.floor(Math.random() * 50));
      const adding = mine && found < 0 ? mine : undefined;
      // the carried layers first (they were there before us), verbatim
      const layers: Layer[] = [...current, ...missing.map((c) => c.layer), ...(adding ? [adding] : [])];
      if (layers.length > MAX_LAYERS)
        throw new SignatureError('SIGNATURE_TOO_LARGE', `${sigstoreSignatureTag(digest)} would hold more than ${MAX_LAYERS} signatures`);
      const { config, manifest } = attachedManifest(layers);
      // small blobs, all at once
      const put = (digest: string, bytes: Buffer) => putSmallBlob(this.client, repository, digest, bytes);
      await Promise.all([
        ...(s && adding ? [put(adding.digest, s.payload)] : []),
        ...missing.map((c) => put(c.layer.digest, c.payload)),
        put(config.digest, config.bytes),
      ]);
      await this.client.putManifest(repository, sigstoreSignatureTag(digest), manifest);
      // the next read, a moment after the write, tells whether another process replaced it in between
      await sleep(SETTLE_MS);
    }
  }

  /**
   * Attaches a sigstore bundle as an OCI 1.1 referrer of the image (the
   * referrer form): the bundle as the one layer, an empty config, the image
   * as `subject`. On a registry without the referrers API the tag-schema
   * fallback index (`sha256-<hex>`) gains its descriptor, read, append,
   * write and settle as for the tag form.
   */
  addReferrer(repository: string, digest: string, bundle: Buffer): Promise<{ n: number; added: boolean }> {
    return inTurn(`${this.client.registry}/${repository}@${digest}#referrers`, async () => {
      const subject = await this.client.getManifest(repository, digest);
      const bundleDigest = sha256Digest(bundle);
      const emptyDigest = sha256Digest(EMPTY_CONFIG);
      await Promise.all([
        putSmallBlob(this.client, repository, bundleDigest, bundle),
        putSmallBlob(this.client, repository, emptyDigest, EMPTY_CONFIG),
      ]);
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaTypes.ociManifest,
          artifactType: SIGSTORE_BUNDLE_MEDIA_TYPE,
          config: { mediaType: EMPTY_MEDIA_TYPE, digest: emptyDigest, size: EMPTY_CONFIG.length },
          layers: [{ mediaType: SIGSTORE_BUNDLE_MEDIA_TYPE, digest: bundleDigest, size: bundle.length }],
          subject: { mediaType: subject.mediaType, digest, size: subject.bytes.length },
          annotations: { 'dev.sigstore.bundle.content': 'dsse-envelope', 'dev.sigstore.bundle.predicateType': COSIGN_SIGN_PREDICATE },
        }),
      );
      const m = { bytes: manifest, mediaType: MediaTypes.ociManifest, digest: sha256Digest(manifest) };
      await this.client.putManifest(repository, m.digest, m);
      const desc = {
        mediaType: MediaTypes.ociManifest,
        digest: m.digest,
        size: manifest.length,
        artifactType: SIGSTORE_BUNDLE_MEDIA_TYPE,
        annotations: { 'dev.sigstore.bundle.content': 'dsse-envelope', 'dev.sigstore.bundle.predicateType': COSIGN_SIGN_PREDICATE },
      };
      for (let attempt = 1; ; attempt++) {
        const { descs, api } = await this.referrers(repository, digest);
        const at = descs.findIndex((d) => d.digest === m.digest);
        // a registry with the referrers API lists it by its subject; the fallback index is ours to keep
        if (at >= 0 && (api || attempt > 1)) {
          if (!api) {
            await sleep(SETTLE_MS);
            const settled = (await this.referrers(repository, digest)).descs.findIndex((d) => d.digest === m.digest);
            if (settled < 0) continue;
          }
          return { n: at + 1, added: true };
        }
        if (attempt > WRITE_ATTEMPTS)
          throw new RegistryError(
            'REGISTRY_UNAVAILABLE',
            `the referrer ${m.digest} of ${repository}@${digest} did not stay in ${referrersFallbackTag(digest)} after ${WRITE_ATTEMPTS} writes: another writer keeps replacing it`,
          );
        if (api) {
          if (attempt > 2)
            throw new RegistryError(
              'REGISTRY_PROTOCOL',
              `registry ${this.client.registry} has a referrers API but does not list ${m.digest} under ${digest}`,
            );
          await sleep(50);
          continue;
        }
        const index = Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: MediaTypes.ociIndex,
            manifests: [...descs.filter((d) => d.digest !== m.digest), desc],
          }),
        );
        await this.client.putManifest(repository, referrersFallbackTag(digest), {
          bytes: index,
          mediaType: MediaTypes.ociIndex,
          digest: sha256Digest(index),
        });
      }
    });
  }
}
