import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse } from 'yaml';
import { AirlockError } from '../errors';
import { Sensitive } from '../sensitive';
import { AirlockConfig, SecretRef, configSchema } from './config-schema';

/** A validated configuration, with the file it came from and its hash (for the audit log). */
export interface LoadedConfig {
  config: AirlockConfig;
  path: string;
  sha256: string;
  /** Resolves a path from the file relative to the file's folder. */
  resolvePath(p: string): string;
}

function describePath(path: PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('') || '(top level)';
}

/** Validates a parsed document; the error names the field and what is wrong. */
export function validateConfig(doc: unknown, source = 'configuration'): AirlockConfig {
  const r = configSchema.safeParse(doc);
  if (r.success) return r.data;
  const issues = r.error.issues.slice(0, 5).map((i) => `${describePath(i.path)}: ${i.message}`);
  throw new AirlockError('CONFIG_INVALID', `${source} is invalid: ${issues.join('; ')}`, {
    issues: r.error.issues.map((i) => ({ path: describePath(i.path), message: i.message })),
  });
}

/** Reads and validates the YAML file at `path`. */
export function loadConfig(path: string): LoadedConfig {
  const abs = resolve(path);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (e) {
    throw new AirlockError(
      'CONFIG_INVALID',
      `cannot read configuration ${abs}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  let doc: unknown;
  try {
    doc = parse(text, { uniqueKeys: true, maxAliasCount: 50 });
  } catch (e) {
    throw new AirlockError('CONFIG_INVALID', `configuration ${abs} is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  const config = validateConfig(doc, `configuration ${abs}`);
  const base = dirname(abs);
  return {
    config,
    path: abs,
    sha256: createHash('sha256').update(text).digest('hex'),
    resolvePath: (p) => (isAbsolute(p) ? p : resolve(base, p)),
  };
}

/** Reads a secret from the environment or a file; a missing one is a clear configuration error. */
export function readSecret(
  ref: SecretRef,
  what: string,
  resolvePath: (p: string) => string = (p) => p,
  env: NodeJS.ProcessEnv = process.env,
): Sensitive<string> {
  if (ref.env) {
    const v = env[ref.env];
    if (v === undefined || v === '') throw new AirlockError('CONFIG_INVALID', `${what}: environment variable ${ref.env} is not set`);
    return new Sensitive(v);
  }
  const file = resolvePath(ref.file as string);
  try {
    return new Sensitive(readFileSync(file, 'utf8').replace(/\r?\n$/, ''));
  } catch (e) {
    throw new AirlockError('CONFIG_INVALID', `${what}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}
