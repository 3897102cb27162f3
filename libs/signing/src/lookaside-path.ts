import { SignatureError } from './errors';

const REPO_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const DIGEST_RE = /^sha256:([a-f0-9]{64})$|^sha512:([a-f0-9]{128})$/;

/**
 * The relative lookaside path of an image's signature N:
 * `<repository>@sha256=<hex>/signature-N` (docs/formats.md, section 2). Inputs are
 * validated, so the result never leaves the store.
 */
export function signaturePath(repository: string, digest: string, n?: number): string {
  if (repository.length > 255 || !REPO_RE.test(repository)) {
    throw new SignatureError('LOOKASIDE_INVALID', `not a repository path: ${JSON.stringify(repository.slice(0, 100))}`);
  }
  if (!DIGEST_RE.test(digest)) throw new SignatureError('INVALID_DIGEST', `not a digest: ${JSON.stringify(digest.slice(0, 100))}`);
  const dir = `${repository}@${digest.replace(':', '=')}`;
  if (n === undefined) return dir;
  if (!Number.isSafeInteger(n) || n < 1) throw new SignatureError('LOOKASIDE_INVALID', `signature number must be 1 or more, got ${n}`);
  return `${dir}/signature-${n}`;
}

/** Parses a lookaside URL path (after the store's base) back into its parts; undefined when it is not one. */
export function parseSignaturePath(rel: string): { repository: string; digest: string; n: number } | undefined {
  const m = /^(.+)@(sha256|sha512)=([a-f0-9]+)\/signature-([1-9][0-9]{0,5})$/.exec(rel);
  if (!m) return undefined;
  const repository = m[1];
  const digest = `${m[2]}:${m[3]}`;
  if (!REPO_RE.test(repository) || repository.length > 255 || !DIGEST_RE.test(digest)) return undefined;
  return { repository, digest, n: Number(m[4]) };
}
