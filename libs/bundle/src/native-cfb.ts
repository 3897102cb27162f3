import { nativeAddonPath } from './native-addon';

/** What native/aes-cfb.c exports (scripts/build-native.sh builds it into dist/native). */
export type CfbOpen = (key: Buffer, previous: Buffer, data: Buffer) => void;
export type CfbSealer = (key: Buffer) => (data: Buffer) => void;

/**
 * Where the built AES-256-CFB opener and sealer lie (dist/native/aes-cfb.node under
 * airlock's root), or undefined when it was not built or
 * AIRLOCK_NATIVE_AES=0 turns it off: entries are then sealed and opened
 * with node:crypto, which gives the same bytes.
 */
export function nativeCfbPath(): string | undefined {
  if (process.env.AIRLOCK_NATIVE_AES === '0') return undefined;
  return nativeAddonPath('aes-cfb.node');
}
