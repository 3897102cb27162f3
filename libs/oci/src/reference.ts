import { RegistryError } from './errors';
import { isDigest } from './digest';

/** A parsed, normalized image reference. */
export interface ImageReference {
  /** Registry host as users write it (`docker.io`, `localhost:5000`). */
  readonly registry: string;
  /** Repository path without the registry (`library/busybox`, `a/b/c`). */
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

export const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_API = 'registry-1.docker.io';

const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_RE = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]{1,5})?$`);
const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const MAX_NAME = 255;

function invalid(input: string, why: string): RegistryError {
  return new RegistryError('INVALID_REFERENCE', `invalid image reference ${JSON.stringify(input.slice(0, 300))}: ${why}`);
}

/**
 * Parses and normalizes a reference the way containers/image does:
 * `busybox` -> `docker.io/library/busybox:latest` (the tag defaults to
 * `latest` only when neither tag nor digest is given and `defaultTag` is on).
 */
export function parseReference(input: string, opts: { defaultTag?: boolean } = {}): ImageReference {
  const defaultTag = opts.defaultTag ?? true;
  if (typeof input !== 'string' || input.length === 0) throw invalid(String(input), 'empty');
  if (input.length > 1024) throw invalid(input, 'too long');
  let rest = input.startsWith('docker://') ? input.slice('docker://'.length) : input;
  if (/\s/.test(rest)) throw invalid(input, 'contains white space');

  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest)) throw invalid(input, 'digest must be sha256:<64 lowercase hex>');
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) throw invalid(input, `tag ${JSON.stringify(tag)} is not valid`);
  }
  const parts = rest.split('/');
  let registry: string;
  const first = parts[0];
  if (
    parts.length > 1 &&
    (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase() || first.startsWith('['))
  ) {
    registry = parts.shift() as string;
    if (!DOMAIN_RE.test(registry)) throw invalid(input, `registry host ${JSON.stringify(registry)} is not valid`);
  } else {
    registry = DOCKER_HUB;
  }
  if (registry === 'index.docker.io') registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift('library');
  if (parts.length === 0 || parts.some((p) => !PATH_COMPONENT_RE.test(p))) {
    throw invalid(input, 'repository path must be lowercase components of [a-z0-9._-] separated by /');
  }
  const repository = parts.join('/');
  if (registry.length + 1 + repository.length > MAX_NAME) throw invalid(input, 'name longer than 255 characters');
  if (!tag && !digest && defaultTag) tag = 'latest';
  return Object.freeze({ registry, repository, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) });
}

/** `registry/repository` without tag or digest. */
export function repositoryName(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}`;
}

/** Canonical string: `registry/repo:tag`, `registry/repo@digest` or `registry/repo:tag@digest`. */
export function formatReference(ref: ImageReference): string {
  return repositoryName(ref) + (ref.tag ? `:${ref.tag}` : '') + (ref.digest ? `@${ref.digest}` : '');
}

/** The same repository pinned to `digest` (the tag is kept only when `keepTag`). */
export function withDigest(ref: ImageReference, digest: string, keepTag = false): ImageReference {
  return Object.freeze({ registry: ref.registry, repository: ref.repository, ...(keepTag && ref.tag ? { tag: ref.tag } : {}), digest });
}

/** The host that serves the registry API (Docker Hub's API lives elsewhere). */
export function apiHost(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_API : registry;
}

/** What goes after `/manifests/` in a URL: the digest when pinned, else the tag. */
export function manifestSelector(ref: ImageReference): string {
  const sel = ref.digest ?? ref.tag;
  if (!sel) throw invalid(formatReference(ref), 'needs a tag or a digest');
  return sel;
}
