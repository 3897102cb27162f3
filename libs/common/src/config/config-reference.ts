import { z } from 'zod';
import { configSchema } from './config-schema';

type Json = {
  type?: string | string[];
  properties?: Record<string, Json>;
  items?: Json;
  required?: string[];
  default?: unknown;
  description?: string;
  enum?: unknown[];
  anyOf?: Json[];
  oneOf?: Json[];
  const?: unknown;
  pattern?: string;
  minimum?: number;
  maximum?: number;
};

function typeOf(j: Json): string {
  if (j.const !== undefined) return JSON.stringify(j.const);
  if (j.enum) return j.enum.map((e) => JSON.stringify(e)).join(' \\| ');
  const alts = j.anyOf ?? j.oneOf;
  if (alts) return alts.map(typeOf).join(' \\| ');
  if (j.type === 'array') return `list of ${j.items ? typeOf(j.items) : 'values'}`;
  if (j.type === 'integer' && (j.minimum !== undefined || j.maximum !== undefined)) return `integer ${j.minimum ?? ''}..${j.maximum ?? ''}`;
  return Array.isArray(j.type) ? j.type.join(' \\| ') : (j.type ?? 'any');
}

function rows(j: Json, path: string, required: boolean, out: string[]): void {
  const alts = j.anyOf ?? j.oneOf;
  const desc = (j.description ?? (alts ? alts.find((a) => a.description)?.description : undefined) ?? '').replace(/\|/g, '\\|');
  if (path)
    out.push(
      `| \`${path}\` | ${typeOf(j)} | ${required ? 'yes' : j.default !== undefined ? `\`${JSON.stringify(j.default)}\`` : 'no'} | ${desc} |`,
    );
  // an object, a list of objects, or a field that takes either a short form or an object (redis: URL or { url, prefix })
  const obj =
    j.type === 'object'
      ? j
      : j.type === 'array' && j.items?.type === 'object'
        ? j.items
        : alts?.some((a) => a.type === 'string')
          ? alts.find((a) => a.type === 'object' && a.properties)
          : undefined;
  if (obj?.properties) {
    const prefix = j.type === 'array' ? `${path}[]` : path;
    for (const [k, v] of Object.entries(obj.properties))
      rows(v, prefix ? `${prefix}.${k}` : k, (obj.required ?? []).includes(k) && v.default === undefined, out);
  }
}

/** The configuration reference as a Markdown table, generated from the schema (the README embeds it). */
export function configReference(): string {
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Json;
  const out = ['| field | type | required / default | meaning |', '| --- | --- | --- | --- |'];
  rows(schema, '', true, out);
  return out.join('\n') + '\n';
}
