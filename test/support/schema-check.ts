/** The subset of OpenAPI 3.0 schemas the API's document uses: type, nullable, properties, required, items, additionalProperties, pattern, $ref. */
type Schema = {
  $ref?: string;
  type?: string;
  nullable?: boolean;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: boolean | Schema;
  pattern?: string;
  oneOf?: Schema[];
};

/**
 * Checks a value against a schema of the document; returns every mismatch
 * as `path: what` (an empty list when it conforms). Properties a schema does
 * not name are mismatches too, unless it allows additional ones: a route
 * that sends more than it documents fails.
 */
export function schemaErrors(value: unknown, schema: Schema, components: Record<string, Schema>, path = '$'): string[] {
  if (schema.$ref) return schemaErrors(value, components[schema.$ref.split('/').pop() as string], components, path);
  if (schema.oneOf) return schema.oneOf.some((s) => !schemaErrors(value, s, components, path).length) ? [] : [`${path}: matches no oneOf`];
  if (value === null) return schema.nullable || !schema.type ? [] : [`${path}: null but not nullable`];
  const t = Array.isArray(value) ? 'array' : Number.isInteger(value) ? 'integer' : typeof value;
  if (schema.type && !(schema.type === t || (schema.type === 'number' && t === 'integer'))) return [`${path}: ${t}, not ${schema.type}`];
  const errors: string[] = [];
  if (schema.pattern && typeof value === 'string' && !new RegExp(schema.pattern).test(value))
    errors.push(`${path}: does not match ${schema.pattern}`);
  if (t === 'array' && schema.items)
    (value as unknown[]).forEach((v, i) => errors.push(...schemaErrors(v, schema.items as Schema, components, `${path}[${i}]`)));
  if (t === 'object' && schema.type === 'object') {
    const o = value as Record<string, unknown>;
    for (const k of schema.required ?? []) if (!(k in o)) errors.push(`${path}.${k}: missing`);
    for (const [k, v] of Object.entries(o)) {
      const p = schema.properties?.[k];
      if (p) errors.push(...schemaErrors(v, p, components, `${path}.${k}`));
      else if (!schema.additionalProperties) errors.push(`${path}.${k}: not in the schema`);
    }
  }
  return errors;
}
