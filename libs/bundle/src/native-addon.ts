import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

const found = new Map<string, string | null>();

/**
 * Where a built Node-API addon lies (dist/native/NAME under airlock's root;
 * scripts/build-native.sh builds them), or undefined when it was not built.
 */
export function nativeAddonPath(name: string): string | undefined {
  let path = found.get(name);
  if (path === undefined) {
    path = null;
    for (let dir = __dirname; ; dir = dirname(dir)) {
      const p = join(dir, 'dist', 'native', name);
      if (existsSync(p)) {
        path = p;
        break;
      }
      if (dirname(dir) === dir) break;
    }
    found.set(name, path);
  }
  return path ?? undefined;
}
