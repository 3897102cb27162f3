import { basename } from 'node:path';
import { BundleError } from './errors';
import { checkVolumes } from './bundle-reader';
import { VolumeIndex } from './bundle-writer';
import { isZipVolume } from './zip-bundle-reader';

/** The files of a bundle, told apart by format: format 1 has its unsigned volume index beside the volumes; a format-2 volume names its bundle in its file name (checked later against the signed index inside it). */
export type LocatedBundle =
  | { format: 1; channel: string; sequence: number; id: string; volumes: string[]; index: VolumeIndex }
  | { format: 2; channel: string; sequence: number; files: string[] };

const ZIP_NAME = /^airlock-([a-z][a-z0-9-]{0,63})-(\d{6})\.(\d{3})\.zip$/;

/**
 * Which bundle the given files are, and in which format. Format-2 volumes
 * (`airlock-<channel>-<seq6>.<NNN>.zip`) must all name one channel and
 * sequence; the files kept beside them on the low side (`.plan.json`,
 * `.index.pgp`) are passed over. Format-1 volumes go through the volume
 * index's checks (present, of their size).
 */
export async function locateBundle(files: string[], o: { hash: boolean } = { hash: false }): Promise<LocatedBundle> {
  const zips = files.filter(isZipVolume);
  if (!zips.length) {
    const { index, volumes } = await checkVolumes(files, o);
    return { format: 1, channel: index.channel, sequence: index.sequence, id: index.id, volumes, index };
  }
  if (files.some((f) => /\.pgp\.\d{3}$|\.volumes\.json$/.test(f)))
    throw new BundleError('BUNDLE_INVALID', 'volumes of format 1 and format 2 were given together');
  const named = zips.map((f) => ZIP_NAME.exec(basename(f)));
  const bad = named.findIndex((m) => !m);
  if (bad >= 0)
    throw new BundleError('BUNDLE_INVALID', `${basename(zips[bad])} is not named as a volume (airlock-<channel>-<sequence>.<NNN>.zip)`);
  const [first] = named as RegExpExecArray[];
  const other = (named as RegExpExecArray[]).find((m) => m[1] !== first[1] || m[2] !== first[2]);
  if (other)
    throw new BundleError(
      'BUNDLE_INVALID',
      `volumes of two bundles were given together (${first[1]} ${Number(first[2])} and ${other[1]} ${Number(other[2])})`,
    );
  return { format: 2, channel: first[1], sequence: Number(first[2]), files: zips };
}
