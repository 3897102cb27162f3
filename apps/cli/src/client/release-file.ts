import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { AirlockError } from '@airlock/common';
import { checkPlatforms } from '@airlock/oci';

/** A release as a file declares it (`airlock release request --file release.yaml`). */
export interface ReleaseFile {
  name: string;
  from: string;
  to: string;
  reason?: string;
  images: (string | { image: string; platforms: string[] })[];
}

const KEYS = ['name', 'from', 'to', 'reason', 'images'];

/**
 * Reads a release file: YAML (or JSON) with `name`, `from`, `to`, an optional
 * `reason`, and `images`, a list of references, or of `{ image: REF,
 * platforms: [os/arch, ...] }` to carry only those platforms of an index. A
 * key it does not know is refused, not ignored.
 */
export function readReleaseFile(path: string): ReleaseFile {
  let doc: unknown;
  try {
    doc = parse(readFileSync(path, 'utf8'), { uniqueKeys: true });
  } catch (e) {
    throw new AirlockError('INVALID_ARGUMENT', `cannot read release file ${path}: ${(e as Error).message.split('\n')[0]}`);
  }
  const bad = (what: string) => new AirlockError('INVALID_ARGUMENT', `release file ${path}: ${what}`);
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw bad('expected a mapping with name, from, to and images');
  const o = doc as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !KEYS.includes(k));
  if (unknown.length) throw bad(`unknown key ${unknown[0]} (the keys are ${KEYS.join(', ')})`);
  for (const k of ['name', 'from', 'to'] as const) if (typeof o[k] !== 'string' || !o[k]) throw bad(`${k} must be a non-empty string`);
  if (o.reason !== undefined && typeof o.reason !== 'string') throw bad('reason must be a string');
  if (!Array.isArray(o.images) || !o.images.length) throw bad('images must be a list of image references');
  const images = o.images.map((im: unknown, i: number) => {
    if (typeof im === 'string' && im) return im;
    if (im && typeof im === 'object' && !Array.isArray(im)) {
      const e = im as Record<string, unknown>;
      const extra = Object.keys(e).filter((k) => k !== 'image' && k !== 'platforms');
      if (extra.length) throw bad(`images[${i}]: unknown key ${extra[0]} (the keys are image, platforms)`);
      if (typeof e.image !== 'string' || !e.image) throw bad(`images[${i}].image must be an image reference`);
      if (e.platforms === undefined) return e.image;
      if (!Array.isArray(e.platforms) || !e.platforms.length || e.platforms.some((p) => typeof p !== 'string'))
        throw bad(`images[${i}].platforms must be a list such as [linux/amd64, linux/arm64]`);
      try {
        return { image: e.image, platforms: checkPlatforms(e.platforms as string[]) };
      } catch (err) {
        throw bad(`images[${i}].${(err as Error).message}`);
      }
    }
    throw bad(`images[${i}] must be a reference (or { image: REF, platforms: [...] })`);
  });
  return { name: o.name as string, from: o.from as string, to: o.to as string, reason: o.reason as string | undefined, images };
}
