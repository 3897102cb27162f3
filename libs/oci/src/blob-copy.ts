import { Readable } from 'node:stream';
import { RegistryClient } from './registry-client';
import { RegistryError } from './errors';
import { DigestVerifier } from './digest-verifier';
import { discard } from './http-util';
import { digestLike } from './digest';
import { Descriptor } from './manifest';
import { DEFAULT_RETRY, withRetry } from './retry';
import { BlobOutcome, BlobWriteOptions } from './image-endpoint';

/** Where a blob comes from (any image source) and the registry repository it goes to. */
export interface BlobRoute {
  open(): Promise<{ body: Readable; size?: number }>;
  dst: RegistryClient;
  dstRepository: string;
  /** A repository on the destination registry known to hold the blob (mount source). */
  mountFrom?: string;
}

const MONOLITHIC_MAX = 1 << 20;

async function readSmall(body: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of body) {
    n += (c as Buffer).length;
    if (n > limit) {
      body.destroy();
      throw new RegistryError('BLOB_DIGEST_MISMATCH', `blob is larger than its descriptor states`);
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * Copies one blob into a registry repository: skipped when it has it,
 * mounted when the registry holds it in another repository, else streamed
 * from the source with its digest checked on the fly. A lost upload session or a
 * dropped connection restarts the blob from the start with a new session.
 */
export async function copyBlob(route: BlobRoute, desc: Descriptor, opts: BlobWriteOptions = {}): Promise<BlobOutcome> {
  const { dst, dstRepository } = route;
  let location: URL | undefined;
  if (route.mountFrom && route.mountFrom !== dstRepository) {
    // A mount answers 201 whether or not the target repository had the blob: one request instead of two.
    const started = await dst.startUpload(dstRepository, { repository: route.mountFrom, digest: desc.digest });
    if (started.mounted) return 'mounted';
    location = started.location;
  } else if (await dst.hasBlob(dstRepository, desc.digest)) {
    return 'skipped';
  }
  const monolithicMax = opts.monolithicMaxBytes ?? MONOLITHIC_MAX;
  await withRetry(opts.retry ?? DEFAULT_RETRY, `copy of blob ${desc.digest} to ${dst.registry}/${dstRepository}`, async () => {
    // the upload session and the source stream are opened at once: one round trip less per blob
    const [sessionOutcome, openedOutcome] = await Promise.allSettled([location ?? startPlainUpload(dst, dstRepository), route.open()]);
    location = undefined;
    if (sessionOutcome.status === 'rejected') {
      if (openedOutcome.status === 'fulfilled') discard(openedOutcome.value.body);
      throw sessionOutcome.reason;
    }
    const session = sessionOutcome.value;
    let sent = 0;
    let verifier: DigestVerifier | undefined;
    let body: Readable | undefined;
    try {
      if (openedOutcome.status === 'rejected') throw openedOutcome.reason;
      const opened = openedOutcome.value;
      body = opened.body;
      if (opened.size !== undefined && opened.size !== desc.size) {
        throw new RegistryError(
          'BLOB_DIGEST_MISMATCH',
          `blob ${desc.digest} is served as ${opened.size} bytes, not the ${desc.size} its descriptor states; nothing was pushed`,
        );
      }
      const onBytes = (n: number) => {
        sent += n;
        opts.onBytes?.(n);
      };
      if (desc.size <= monolithicMax) {
        // small: read whole, check, and send in the commit itself
        const bytes = await readSmall(body, desc.size);
        if (bytes.length !== desc.size || digestLike(desc.digest, bytes) !== desc.digest) {
          throw new RegistryError(
            'BLOB_DIGEST_MISMATCH',
            `blob ${desc.digest} arrived as ${bytes.length} bytes that do not match its digest; nothing was pushed`,
            { digest: desc.digest },
          );
        }
        onBytes(bytes.length);
        await dst.completeUpload(dstRepository, session, desc.digest, bytes);
      } else {
        verifier = new DigestVerifier(desc.digest, desc.size, onBytes);
        const v = verifier;
        body.on('error', (e) => v.destroy(e));
        body.pipe(v);
        let next: URL;
        try {
          next = await dst.patchUpload(dstRepository, session, v, desc.size);
        } catch (e) {
          throw v.errored ?? e;
        }
        if (v.errored) throw v.errored;
        await dst.completeUpload(dstRepository, next, desc.digest);
      }
      return;
    } catch (e) {
      if (body && !body.readableEnded) discard(body);
      if (verifier && !verifier.destroyed) verifier.destroy();
      if (sent) opts.onBytes?.(-sent);
      await dst.cancelUpload(dstRepository, session);
      throw e;
    }
  });
  return 'copied';
}

async function startPlainUpload(dst: RegistryClient, repository: string): Promise<URL> {
  const s = await dst.startUpload(repository);
  if (s.mounted) throw new RegistryError('REGISTRY_PROTOCOL', 'registry mounted a blob that was not asked for');
  return s.location;
}
