import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { Agent } from './undici-agent';
import { Credentials, parseChallenge } from './auth';
import { RegistryAuth, Scope } from './registry-auth';
import { RegistryError } from './errors';
import { registryFailure } from './registry-failure';
import { DEFAULT_RETRY, RetryPolicy, TransientError, isTransientStatus, parseRetryAfter, withRetry } from './retry';
import { MANIFEST_MEDIA_TYPES, MediaTypes } from './media-types';
import { ManifestBlob } from './manifest';
import { digestLike } from './digest';
import { USER_AGENT, discard, drain } from './http-util';
import type { ClientCertificate } from './registry-tls';
import { tlsOptions } from './tls-connect';
import { pingRegistry } from './registry-ping';

/** How to reach one registry. */
export interface RegistryOptions {
  /** Allow plain HTTP or unverified TLS for this registry (never the default). */
  insecure?: boolean;
  /** CA certificates (PEM) trusted for this registry besides the system's, e.g. a private CA of an air-gapped site. */
  ca?: string[];
  /** The certificate this client presents when the registry asks for one (mutual TLS). */
  clientCert?: ClientCertificate;
  credentials?: Credentials;
  retry?: RetryPolicy;
  /** Parallel connections kept to this registry. */
  connections?: number;
  /** Abort a response body that stalls longer than this. */
  bodyTimeoutMs?: number;
  onRetry?: (what: string, attempt: number, delayMs: number, reason: string) => void;
}

interface SendOptions {
  scopes: Scope[];
  headers?: Record<string, string>;
  body?: Buffer | Readable | null;
  /** Bodies that cannot be replayed (streams) are sent once. */
  what: string;
}

type Response = Dispatcher.ResponseData;

function header(res: Response, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** A repository and a tag or digest as people write them: `repo:tag`, `repo@sha256:...`. */
const named = (repository: string, selector: string) => `${repository}${selector.includes(':') ? '@' : ':'}${selector}`;

/**
 * A client for one registry host (OCI distribution v2). It keeps pooled
 * connections, learns the auth challenge once, caches bearer tokens per
 * scope, and retries transient faults for requests that can be replayed.
 */
export class RegistryClient {
  private readonly agent: Agent;
  private readonly tls: ReturnType<typeof tlsOptions>;
  private readonly retry: RetryPolicy;
  private base?: URL;
  private readyPromise?: Promise<void>;
  private readonly auth: RegistryAuth;

  constructor(
    readonly registry: string,
    private readonly opts: RegistryOptions = {},
  ) {
    this.retry = opts.retry ?? DEFAULT_RETRY;
    this.tls = tlsOptions(opts);
    this.agent = new Agent({
      connections: opts.connections ?? 16,
      keepAliveTimeout: 30_000,
      headersTimeout: 120_000,
      bodyTimeout: opts.bodyTimeoutMs ?? 120_000,
      connect: this.tls,
    });
    this.auth = new RegistryAuth(registry, this.agent, this.retry, opts.credentials);
  }

  /** Until when this registry is taken to have no referrers API (it answered 404). */
  private noReferrersApiUntil = 0;

  /** Closes pooled connections. */
  async close(): Promise<void> {
    await this.agent.close();
  }

  /** Base URL, once known (`https://host` or, for insecure registries that do not speak TLS, `http://host`). */
  get baseUrl(): string | undefined {
    return this.base?.origin;
  }

  /** Learns the scheme and the auth challenge now, so that the first real request does not wait for it. */
  connect(): Promise<void> {
    return this.ready();
  }

  private ready(): Promise<void> {
    this.readyPromise ??= pingRegistry(this.registry, this.opts, this.agent, this.tls, this.retry, this.auth)
      .then((base) => {
        this.base = base;
      })
      .catch((e) => {
        this.readyPromise = undefined;
        throw e;
      });
    return this.readyPromise;
  }

  /** Resolves a path or a Location header against the registry's base URL. */
  resolve(pathOrUrl: string): URL {
    return new URL(pathOrUrl, this.base);
  }

  /** One HTTP exchange with auth; a 401 refreshes the challenge and token once when the body can be replayed. */
  private async send(method: string, target: string | URL, o: SendOptions): Promise<Response> {
    await this.ready();
    const url = typeof target === 'string' ? this.resolve(target) : target;
    const sameOrigin = url.origin === this.base?.origin;
    const replayable = !(o.body instanceof Readable);
    for (let pass = 0; pass < 2; pass++) {
      const headers: Record<string, string> = { 'user-agent': USER_AGENT, ...o.headers };
      const auth = sameOrigin ? await this.auth.authorization(o.scopes, pass > 0) : undefined;
      if (auth) headers.authorization = auth;
      // undici closes the connection after every HEAD unless told otherwise (for servers that send a body anyway); registries
      // answer HEAD properly, and a copy makes a HEAD per blob: a new TCP connection each time cost a third of a small copy.
      const reset = method === 'HEAD' ? false : undefined;
      const res = await this.agent.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: method,
        headers,
        body: o.body ?? null,
        reset,
      });
      if (res.statusCode === 401 && pass === 0 && replayable && sameOrigin) {
        await drain(res);
        const ch = parseChallenge(res.headers['www-authenticate']);
        if (ch) this.auth.challenge = ch;
        continue;
      }
      return res;
    }
    throw new Error('unreachable');
  }

  /** Error for a response that was not what we expected. */
  private async call(
    method: string,
    target: string | URL,
    o: SendOptions & { ok: number[]; notFound?: 'MANIFEST_UNKNOWN' | 'BLOB_UNKNOWN' | 'BLOB_UPLOAD_FAILED'; passThrough?: number[] },
  ): Promise<Response> {
    return withRetry(
      this.retry,
      `${o.what} on ${this.registry}`,
      async () => {
        const res = await this.send(method, target, o);
        if (o.ok.includes(res.statusCode) || o.passThrough?.includes(res.statusCode)) return res;
        if (isTransientStatus(res.statusCode)) {
          const retryAfter = parseRetryAfter(res.headers['retry-after']);
          await drain(res);
          throw new TransientError(`registry ${this.registry} answered ${res.statusCode} for ${o.what}`, retryAfter);
        }
        throw await registryFailure(this.registry, res, o.what, o.notFound);
      },
      (a, d, why) => this.opts.onRetry?.(o.what, a, d, why),
    );
  }

  /** Fetches a manifest's exact bytes; checks them against the digest asked for and the one the registry states. */
  async getManifest(repository: string, selector: string): Promise<ManifestBlob> {
    const what = `manifest ${named(repository, selector)}`;
    const res = await this.call('GET', `/v2/${repository}/manifests/${selector}`, {
      scopes: [{ repository, actions: ['pull'] }],
      headers: { accept: MANIFEST_MEDIA_TYPES.join(', ') },
      ok: [200],
      what: `GET ${what}`,
    });
    const len = Number(header(res, 'content-length') ?? 0);
    if (len > 4 << 20) {
      discard(res.body);
      throw new RegistryError('MANIFEST_INVALID', `${what} is larger than 4 MiB; refusing it`);
    }
    const bytes = Buffer.from(await res.body.arrayBuffer());
    if (bytes.length > 4 << 20) throw new RegistryError('MANIFEST_INVALID', `${what} is larger than 4 MiB; refusing it`);
    const mediaType = (header(res, 'content-type') ?? '').split(';')[0].trim();
    const stated = header(res, 'docker-content-digest');
    const digest = digestLike(selector.startsWith('sha512:') ? selector : 'sha256:' + '0'.repeat(64), bytes);
    if (selector.includes(':') && digest !== selector) {
      throw new RegistryError('BLOB_DIGEST_MISMATCH', `${what}: registry served bytes with digest ${digest}`);
    }
    if (stated && /^sha(256|512):/.test(stated) && stated.split(':')[0] === digest.split(':')[0] && stated !== digest) {
      throw new RegistryError('BLOB_DIGEST_MISMATCH', `${what}: registry states ${stated} but the bytes hash to ${digest}`);
    }
    return { bytes, mediaType, digest };
  }

  /** HEAD of a manifest: its digest when present, undefined on 404. */
  async headManifest(repository: string, selector: string): Promise<{ digest?: string; mediaType?: string } | undefined> {
    const res = await this.call('HEAD', `/v2/${repository}/manifests/${selector}`, {
      scopes: [{ repository, actions: ['pull'] }],
      headers: { accept: MANIFEST_MEDIA_TYPES.join(', ') },
      ok: [200],
      passThrough: [404],
      what: `HEAD manifest ${named(repository, selector)}`,
    });
    await drain(res);
    if (res.statusCode === 404) return undefined;
    return { digest: header(res, 'docker-content-digest'), mediaType: header(res, 'content-type') };
  }

  /**
   * The OCI 1.1 referrers API's index for a digest, or undefined when the
   * registry has no such API (404: clients then read the tag-schema
   * fallback, tag `sha256-<hex>`). Capped like a manifest.
   */
  async getReferrers(repository: string, digest: string): Promise<Buffer | undefined> {
    // a registry without the API is asked again only after a while (every promotion asks for every manifest)
    if (this.noReferrersApiUntil > Date.now()) return undefined;
    const res = await this.call('GET', `/v2/${repository}/referrers/${digest}`, {
      scopes: [{ repository, actions: ['pull'] }],
      headers: { accept: MediaTypes.ociIndex },
      ok: [200],
      passThrough: [404],
      what: `GET referrers of ${repository}@${digest}`,
    });
    if (res.statusCode === 404) {
      await drain(res);
      this.noReferrersApiUntil = Date.now() + 600_000;
      return undefined;
    }
    const bytes = Buffer.from(await res.body.arrayBuffer());
    if (bytes.length > 4 << 20)
      throw new RegistryError('MANIFEST_INVALID', `the referrers of ${repository}@${digest} are more than 4 MiB; refusing them`);
    return bytes;
  }

  /** Pushes manifest bytes unchanged under a tag or digest. */
  async putManifest(repository: string, selector: string, m: ManifestBlob): Promise<void> {
    const res = await this.call('PUT', `/v2/${repository}/manifests/${selector}`, {
      scopes: [{ repository, actions: ['pull', 'push'] }],
      headers: { 'content-type': m.mediaType, 'content-length': String(m.bytes.length) },
      body: m.bytes,
      ok: [200, 201, 202],
      what: `PUT manifest ${named(repository, selector)}`,
    });
    const stated = header(res, 'docker-content-digest');
    await drain(res);
    if (stated && stated !== m.digest) {
      throw new RegistryError(
        'BLOB_DIGEST_MISMATCH',
        `registry ${this.registry} stored manifest ${named(repository, selector)} as ${stated}, expected ${m.digest}`,
      );
    }
  }

  /** True when the repository already has the blob. */
  async hasBlob(repository: string, digest: string): Promise<boolean> {
    const res = await this.call('HEAD', `/v2/${repository}/blobs/${digest}`, {
      scopes: [{ repository, actions: ['pull'] }],
      ok: [200],
      passThrough: [404],
      what: `HEAD blob ${repository}@${digest}`,
      notFound: 'BLOB_UNKNOWN',
    });
    await drain(res);
    return res.statusCode === 200;
  }

  /** Opens a blob for streaming (redirects followed, credentials not sent to other hosts). */
  async openBlob(repository: string, digest: string): Promise<{ body: Readable; size?: number }> {
    await this.ready();
    let target: URL = this.resolve(`/v2/${repository}/blobs/${digest}`);
    for (let hop = 0; hop < 4; hop++) {
      const res = await this.call('GET', target, {
        scopes: [{ repository, actions: ['pull'] }],
        ok: [200],
        passThrough: [301, 302, 303, 307, 308],
        what: `GET blob ${repository}@${digest}`,
        notFound: 'BLOB_UNKNOWN',
      });
      if (res.statusCode === 200) {
        const len = header(res, 'content-length');
        return { body: res.body, size: len !== undefined ? Number(len) : undefined };
      }
      const loc = header(res, 'location');
      await drain(res);
      if (!loc) throw new RegistryError('REGISTRY_PROTOCOL', `registry ${this.registry} redirected a blob without a Location`);
      target = new URL(loc, target);
    }
    throw new RegistryError('REGISTRY_PROTOCOL', `registry ${this.registry} redirected blob ${digest} too many times`);
  }

  /**
   * Starts an upload; with `mountFrom` asks for a cross-repository mount first.
   * Returns `mounted` or the upload session's URL.
   */
  async startUpload(
    repository: string,
    mountFrom?: { repository: string; digest: string },
  ): Promise<{ mounted: true } | { mounted: false; location: URL }> {
    const scopes: Scope[] = [{ repository, actions: ['pull', 'push'] }];
    let path = `/v2/${repository}/blobs/uploads/`;
    if (mountFrom) {
      scopes.push({ repository: mountFrom.repository, actions: ['pull'] });
      path += `?mount=${encodeURIComponent(mountFrom.digest)}&from=${encodeURIComponent(mountFrom.repository)}`;
    }
    const res = await this.call('POST', path, {
      scopes,
      headers: { 'content-length': '0' },
      body: null,
      ok: [201, 202],
      what: `start upload to ${repository}`,
    });
    const loc = header(res, 'location');
    await drain(res);
    if (res.statusCode === 201 && mountFrom) return { mounted: true };
    if (!loc) throw new RegistryError('REGISTRY_PROTOCOL', `registry ${this.registry} started an upload without a Location`);
    return { mounted: false, location: this.resolve(loc) };
  }

  /**
   * Streams the body into an upload session with one PATCH. Not retried here:
   * a stream cannot be replayed, so the caller restarts the whole blob.
   */
  async patchUpload(repository: string, location: URL, body: Readable, size?: number): Promise<URL> {
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
    if (size !== undefined) headers['content-length'] = String(size);
    const res = await this.send('PATCH', location, { scopes: [{ repository, actions: ['pull', 'push'] }], headers, body, what: 'upload' });
    if (res.statusCode !== 202 && res.statusCode !== 204) {
      if (isTransientStatus(res.statusCode) || res.statusCode === 404) {
        const why = `registry ${this.registry} answered ${res.statusCode} to a blob upload`;
        await drain(res);
        throw new TransientError(
          res.statusCode === 404 ? `${why} (upload session lost)` : why,
          parseRetryAfter(res.headers['retry-after']),
        );
      }
      throw await registryFailure(this.registry, res, `blob upload to ${repository}`, 'BLOB_UPLOAD_FAILED');
    }
    const loc = header(res, 'location');
    await drain(res);
    return loc ? new URL(loc, location) : location;
  }

  /** Commits an upload under its digest, optionally sending a last (small) body. */
  async completeUpload(repository: string, location: URL, digest: string, body?: Buffer): Promise<void> {
    const url = new URL(location);
    url.searchParams.set('digest', digest);
    const res = await this.send('PUT', url, {
      scopes: [{ repository, actions: ['pull', 'push'] }],
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(body?.length ?? 0) },
      body: body ?? null,
      what: 'commit upload',
    });
    if (res.statusCode === 201 || res.statusCode === 204) {
      await drain(res);
      return;
    }
    if (isTransientStatus(res.statusCode) || res.statusCode === 404) {
      await drain(res);
      throw new TransientError(
        `registry ${this.registry} answered ${res.statusCode} committing blob ${digest}`,
        parseRetryAfter(res.headers['retry-after']),
      );
    }
    throw await registryFailure(this.registry, res, `commit of blob ${digest} to ${repository}`, 'BLOB_UPLOAD_FAILED');
  }

  /** Abandons an upload session (best effort: the registry garbage-collects it anyway). */
  async cancelUpload(repository: string, location: URL): Promise<void> {
    try {
      const res = await this.send('DELETE', location, { scopes: [{ repository, actions: ['pull', 'push'] }], what: 'cancel upload' });
      await drain(res);
    } catch {
      /* best effort */
    }
  }

  /** The tag list's JSON (`?n=max`), or undefined when it goes on in another page (a `Link`) or passes 1 MiB: too many tags to list for a lookup. */
  async tagList(repository: string, max: number): Promise<Buffer | undefined> {
    const res = await this.call('GET', `/v2/${repository}/tags/list?n=${max}`, {
      scopes: [{ repository, actions: ['pull'] }],
      ok: [200],
      what: `list tags of ${repository}`,
    });
    if (header(res, 'link') || Number(header(res, 'content-length') ?? 0) > 1 << 20) {
      discard(res.body);
      return undefined;
    }
    const bytes = Buffer.from(await res.body.arrayBuffer());
    return bytes.length > 1 << 20 ? undefined : bytes;
  }
}
