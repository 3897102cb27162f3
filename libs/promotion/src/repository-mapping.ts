import { AirlockError } from '@airlock/common';
import { ImageReference, parseReference } from '@airlock/oci';

/** A mapping rule: `from` and `to` are `host/path` prefixes, with an optional trailing `/*`. */
export interface MappingRule {
  from: string;
  to: string;
}

/**
 * The destination of `src` under the first matching rule: `dev.example/team/*`
 * -> `qa.example/team/*` maps `dev.example/team/app:1` to `qa.example/team/app:1`.
 * A rule without `*` maps one repository exactly. The tag is kept.
 */
export function mapReference(src: ImageReference, rules: MappingRule[]): ImageReference | undefined {
  const name = `${src.registry}/${src.repository}`;
  for (const r of rules) {
    const wild = r.from.endsWith('/*');
    const fromPrefix = wild ? r.from.slice(0, -2) : r.from;
    const toPrefix = r.to.endsWith('/*') ? r.to.slice(0, -2) : r.to;
    let mapped: string | undefined;
    if (!wild && name === fromPrefix) mapped = toPrefix;
    else if (wild && name.startsWith(fromPrefix + '/')) mapped = toPrefix + name.slice(fromPrefix.length);
    if (mapped === undefined) continue;
    try {
      return parseReference(`${mapped}${src.tag ? `:${src.tag}` : ''}`, { defaultTag: false });
    } catch {
      throw new AirlockError('CONFIG_INVALID', `mapping ${r.from} -> ${r.to} produces an invalid reference for ${name}`);
    }
  }
  return undefined;
}
