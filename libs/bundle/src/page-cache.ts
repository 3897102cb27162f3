import { getSystemErrorName } from 'node:util';
import { nativeAddonPath } from './native-addon';

interface PageCacheAddon {
  dropPages(fd: number, offset: number, length: number): Promise<number>;
  readDirect(fd: number, buffer: Buffer, position: number): Promise<number>;
}

let loaded: PageCacheAddon | null | undefined;

/** native/page-cache.c, or null when it was not built or AIRLOCK_DROP_PAGES=0 says to leave the page cache as it is. */
function addon(): PageCacheAddon | null {
  if (loaded === undefined) {
    const path = process.env.AIRLOCK_DROP_PAGES === '0' ? undefined : nativeAddonPath('page-cache.node');
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the addon is found at run time
    loaded = path ? (require(path) as PageCacheAddon) : null;
  }
  return loaded;
}

/**
 * Drops a range of an open file from the page cache (POSIX_FADV_DONTNEED,
 * native/page-cache.c, on libuv's thread pool): for bytes read once. The
 * descriptor must stay open until it settles. Gives false when it cannot
 * (the addon not built, AIRLOCK_DROP_PAGES=0, or the kernel said no),
 * which changes nothing but the memory the pages keep.
 */
export async function dropPages(fd: number, offset: number, length: number): Promise<boolean> {
  const a = addon();
  return a !== null && length > 0 && (await a.dropPages(fd, offset, length)) === 0;
}

/** Whether `readDirect` can be used: the addon is built and not turned off. */
export function canReadDirect(): boolean {
  return addon() !== null;
}

/**
 * Reads `buffer.length` bytes from `position` of a descriptor opened with
 * O_DIRECT, at any offset (native/page-cache.c reads the sectors around
 * them into an aligned buffer of its own, on libuv's thread pool): no page
 * of cache is made. Gives the count read, less at the end of the file. The
 * descriptor must stay open until it settles. Only when `canReadDirect()`.
 */
export async function readDirect(fd: number, buffer: Buffer, position: number): Promise<number> {
  const got = await (addon() as PageCacheAddon).readDirect(fd, buffer, position);
  if (got < 0)
    throw Object.assign(new Error(`${getSystemErrorName(got)}: reading a bundle volume`), { code: getSystemErrorName(got), errno: got });
  return got;
}
