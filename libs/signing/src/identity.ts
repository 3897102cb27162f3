import { ImageReference, formatReference, parseReference } from '@airlock/oci';

/**
 * How the identity in a signature must relate to the image being checked
 * (containers/image `signedIdentity`).
 */
export type IdentityRule =
  | { type: 'matchRepoDigestOrExact' }
  | { type: 'matchExact' }
  | { type: 'matchRepository' }
  | { type: 'exactReference'; dockerReference: string }
  | { type: 'exactRepository'; dockerRepository: string }
  | { type: 'remapIdentity'; prefix: string; signedPrefix: string };

export const DEFAULT_IDENTITY_RULE: IdentityRule = { type: 'matchRepoDigestOrExact' };

function parse(s: string): ImageReference | undefined {
  try {
    return parseReference(s, { defaultTag: false });
  } catch {
    return undefined;
  }
}

const name = (r: ImageReference) => `${r.registry}/${r.repository}`;
const nameOnly = (r: ImageReference) => !r.tag && !r.digest;

function exact(intended: ImageReference, signed: ImageReference): boolean {
  if (nameOnly(intended) || nameOnly(signed)) return false;
  return formatReference(signed) === formatReference(intended);
}

function repoDigestOrExact(intended: ImageReference, signed: ImageReference): boolean {
  if (nameOnly(signed)) return false;
  if (intended.tag) return formatReference(signed) === formatReference(intended);
  if (intended.digest) return name(signed) === name(intended);
  return false;
}

/** Replaces `prefix` at the start of a normalized name (on a host or path boundary). */
function remap(intended: ImageReference, prefix: string, signedPrefix: string): ImageReference | undefined {
  const n = name(intended);
  if (n !== prefix && !n.startsWith(prefix + '/')) return intended;
  const suffix = formatReference(intended).slice(prefix.length);
  return parse(signedPrefix + suffix);
}

/**
 * True when a signature claiming `signedReference` may stand for the image
 * known as `intendedReference` under `rule`. Both are normalized first
 * (`busybox` is `docker.io/library/busybox`); nothing else is defaulted.
 */
export function identityMatches(rule: IdentityRule, intendedReference: string, signedReference: string): boolean {
  const signed = parse(signedReference);
  if (!signed) return false;
  switch (rule.type) {
    case 'matchExact': {
      const intended = parse(intendedReference);
      return !!intended && exact(intended, signed);
    }
    case 'matchRepoDigestOrExact': {
      const intended = parse(intendedReference);
      return !!intended && repoDigestOrExact(intended, signed);
    }
    case 'matchRepository': {
      const intended = parse(intendedReference);
      return !!intended && name(signed) === name(intended);
    }
    case 'exactReference': {
      const want = parse(rule.dockerReference);
      return !!want && exact(want, signed);
    }
    case 'exactRepository': {
      const want = parse(rule.dockerRepository);
      return !!want && name(want) === name(signed);
    }
    case 'remapIdentity': {
      const intended = parse(intendedReference);
      const mapped = intended && remap(intended, normalizePrefix(rule.prefix), normalizePrefix(rule.signedPrefix));
      return !!mapped && repoDigestOrExact(mapped, signed);
    }
  }
}

/** A prefix as written in policy (`host`, `host/ns`), normalized like a repository name when it has a path. */
function normalizePrefix(p: string): string {
  if (!p.includes('/')) return p;
  const r = parse(p);
  return r ? name(r) : p;
}

/** Checks a rule's own fields, returning why it is unusable, or undefined. */
export function validateIdentityRule(rule: IdentityRule): string | undefined {
  switch (rule.type) {
    case 'exactReference': {
      const r = parse(rule.dockerReference);
      return r && !nameOnly(r)
        ? undefined
        : `exactReference needs a reference with a tag or digest, got ${JSON.stringify(rule.dockerReference)}`;
    }
    case 'exactRepository':
      return parse(rule.dockerRepository) ? undefined : `exactRepository ${JSON.stringify(rule.dockerRepository)} is not a repository`;
    case 'remapIdentity':
      return rule.prefix && rule.signedPrefix ? undefined : 'remapIdentity needs prefix and signedPrefix';
    default:
      return undefined;
  }
}
