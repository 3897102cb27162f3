import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** What native/aes-cfb.c exports (scripts/build-native.sh builds it into dist/native). */
export type CfbOpen = (key: Buffer, previous: Buffer, data: Buffer) => void;
export type CfbSealer = (key: Buffer) => (data: Buffer) => void;

let found: string | null | undefined;

/**
 * Where the built AES-256-CFB opener and sealer lie (dist/native/aes-cfb.node under
 * airlock's root), or undefined when it was not built or
 * AIRLOCK_NATIVE_AES=0 turns it off: entries are then sealed and opened
 * with node:crypto, which gives the same bytes.
 */
export function nativeCfbPath(): string | undefined {
  if (process.env.AIRLOCK_NATIVE_AES === '0') return undefined;
  if (found === undefined) {
    found = null;
    for (let dir = __dirname; ; dir = dirname(dir)) {
      const p = join(dir, 'dist', 'native', 'aes-cfb.node');
      if (existsSync(p)) {
        found = p;
        break;
      }
      if (dirname(dir) === dir) break;
    }
  }
  return found ?? undefined;
}
