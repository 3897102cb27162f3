import { createHash } from 'node:crypto';
import { RegistryError } from './errors';

const DIGEST_RE = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

/** True when `d` is a well-formed sha256 or sha512 digest (lowercase hex, exact length). */
export function isDigest(d: string): boolean {
  return DIGEST_RE.test(d);
}

/** Returns `d` when well formed, else throws INVALID_DIGEST (so `sha256:../x` never reaches a path or URL). */
export function assertDigest(d: string): string {
  if (typeof d !== 'string' || !DIGEST_RE.test(d)) {
    throw new RegistryError('INVALID_DIGEST', `not a valid digest: ${JSON.stringify(String(d).slice(0, 80))} (expected sha256:<64 hex>)`);
  }
  return d;
}

/** The algorithm part of a digest, for hashing. */
export function digestAlgorithm(d: string): 'sha256' | 'sha512' {
  return assertDigest(d).startsWith('sha512:') ? 'sha512' : 'sha256';
}

/** sha256 digest of bytes, in `sha256:<hex>` form. */
export function sha256Digest(bytes: Uint8Array): string {
  return 'sha256:' + createHash('sha256').update(bytes).digest('hex');
}

/** Digest of bytes with the algorithm of `like` (used to check content against an expected digest). */
export function digestLike(like: string, bytes: Uint8Array): string {
  const algo = digestAlgorithm(like);
  return `${algo}:` + createHash(algo).update(bytes).digest('hex');
}
