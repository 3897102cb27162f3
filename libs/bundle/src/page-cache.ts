import { nativeAddonPath } from './native-addon';

type DropPages = (fd: number, offset: number, length: number) => Promise<number>;

let loaded: DropPages | null | undefined;

/**
 * Drops a range of an open file from the page cache (POSIX_FADV_DONTNEED,
 * native/page-cache.c, on libuv's thread pool): for bytes read once. The
 * descriptor must stay open until it settles. Gives false when it cannot
 * (the addon not built, AIRLOCK_DROP_PAGES=0, or the kernel said no),
 * which changes nothing but the memory the pages keep.
 */
export async function dropPages(fd: number, offset: number, length: number): Promise<boolean> {
  if (loaded === undefined) {
    const path = process.env.AIRLOCK_DROP_PAGES === '0' ? undefined : nativeAddonPath('page-cache.node');
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the addon is found at run time
    loaded = path ? (require(path) as { dropPages: DropPages }).dropPages : null;
  }
  return loaded !== null && length > 0 && (await loaded(fd, offset, length)) === 0;
}
