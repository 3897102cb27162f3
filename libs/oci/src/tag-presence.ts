import { RegistryError } from './errors';
import type { RegistryClient } from './registry-client';

/** A repository with at most this many tags is listed whole to look tags up; above, each tag is asked for. */
const FEW_TAGS = 100;
/** A repository found to have more (or whose listing failed) is asked tag by tag for this long before it is listed again. */
const MANY_TAGS_FOR_MS = 600_000;
/** Repositories remembered per registry (the oldest is forgotten first). */
const REMEMBERED = 1000;

/** Per registry client: the repositories that were not worth listing, until when. */
const manyTags = new WeakMap<RegistryClient, Map<string, number>>();

/**
 * The repository's tags when they are at most `max`: a registry that pages
 * (OCI distribution `n`), or one that sends them all (Debian's
 * docker-registry 2.8 ignores `n`) and has more, gives undefined.
 */
async function fewTags(client: RegistryClient, repository: string, max: number): Promise<string[] | undefined> {
  const bytes = await client.tagList(repository, max);
  if (!bytes) return undefined;
  let tags: unknown;
  try {
    tags = (JSON.parse(bytes.toString('utf8')) as { tags?: unknown }).tags ?? [];
  } catch (e) {
    throw new RegistryError('MANIFEST_INVALID', `the tag list of ${repository} is not JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string'))
    throw new RegistryError('MANIFEST_INVALID', `the tag list of ${repository} is not a list of names`);
  return tags.length > max ? undefined : (tags as string[]);
}

function remember(client: RegistryClient, repository: string): void {
  let m = manyTags.get(client);
  if (!m) manyTags.set(client, (m = new Map<string, number>()));
  m.delete(repository);
  m.set(repository, Date.now() + MANY_TAGS_FOR_MS);
  if (m.size > REMEMBERED) m.delete(m.keys().next().value as string);
}

/**
 * Which of `tags` the repository holds. Most repositories hold few tags, so
 * one listing answers for all of them (the attachments of an image are four
 * lookups: `.sig`, `.att`, `.sbom` and the referrers fallback tag, each a
 * request the registry serves at a cost, for every manifest of every
 * promotion). A repository with more than FEW_TAGS tags, or whose listing is
 * refused, is asked with a HEAD per tag, all at once, and listed again only
 * after a while. Both give the repository's state when asked.
 */
export async function presentTags(client: RegistryClient, repository: string, tags: string[]): Promise<boolean[]> {
  const until = manyTags.get(client)?.get(repository);
  if (until === undefined || until < Date.now()) {
    let listed: string[] | undefined;
    try {
      listed = await fewTags(client, repository, FEW_TAGS);
    } catch (e) {
      // a registry that does not let this client list (or lists nonsense) is asked tag by tag; one that cannot be reached fails as any request would
      if (!(e instanceof RegistryError) || e.code === 'REGISTRY_UNAVAILABLE') throw e;
    }
    if (listed) {
      const have = new Set(listed);
      return tags.map((t) => have.has(t));
    }
    remember(client, repository);
  }
  return Promise.all(tags.map(async (t) => !!(await client.headManifest(repository, t))));
}
