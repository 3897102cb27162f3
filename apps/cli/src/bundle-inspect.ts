import { lazy } from './lazy';
import { CONFIG_OPTION } from './config-path';
import { localCore } from './local-core';
import { count } from './plural';
import type { CommandOption } from './fast-args';

/** The flags of `airlock bundle inspect`, as the command and its fast path (fast-commands.ts) both read them. */
export interface InspectFlags {
  config?: string;
  verify?: boolean;
}

export const INSPECT_OPTIONS: Record<keyof InspectFlags, CommandOption> = {
  config: CONFIG_OPTION,
  verify: { flags: '--verify', description: 'also read every entry of the volumes given and check its digest (format 2)' },
};

/**
 * `airlock bundle inspect FILES...`: what a bundle holds and whether it
 * would import now, without importing. It exits 0 whenever it could read
 * the bundle: "would import: no" is an answer, not a failure.
 */
export async function runInspect(files: string[], o: InspectFlags): Promise<void> {
  // the import key unlocks and the index opens on an OpenPGP thread: started first, it loads openpgp while this thread loads
  // the libraries and the configuration (started after them, it made the thread's start-up the last third of the command)
  lazy.bundleWarm().warmPgpThread();
  const l = await localCore(o.config);
  try {
    const r = await l.importer.inspect(files, { verify: o.verify });
    const m = r.manifest;
    const b = r.bundle;
    const volumes = [
      ...(b.volumes === undefined
        ? []
        : [
            `volumes: ${b.volumes}${b.missing?.length ? `, missing ${b.missing.join(', ')}` : ', all present'}${b.verifiedBytes !== undefined ? `; every entry of those present verified (${(b.verifiedBytes / 2 ** 20).toFixed(1)} MiB)` : ''}`,
          ]),
      ...(b.otherBundles ? [`not of this bundle (another index, or none): ${b.otherBundles.join(', ')}`] : []),
    ];
    const head = m
      ? [
          `bundle ${m.id} (${m.format})`,
          `channel ${m.channel}: ${m.source} -> ${m.target}, sequence ${m.sequence}${m.full ? ', full' : ''}`,
          `created ${m.created}, expires ${m.expires}, sender ${m.sender}`,
          ...m.images.map(
            (i) =>
              `  ${i.target} ${i.digest}${i.platforms ? ` (only ${i.platforms.join(', ')})` : ''} requested by ${i.requester}, approved by ${i.approvals.map((a) => a.approver).join(', ') || 'nobody'}`,
          ),
          `${m.entries.length} entries, ${(m.entries.reduce((a, e) => a + e.size, 0) / 2 ** 20).toFixed(1)} MiB`,
          ...volumes,
        ]
      : [
          `bundle ${b.id ?? '(id inside)'}, channel ${b.channel}, sequence ${b.sequence}, format ${b.format}${b.volumes ? `, ${count(b.volumes, 'volume')}` : ''} (as the ${b.format === 1 ? 'unsigned volume index' : 'file names'} say: nothing inside could be trusted)`,
          ...volumes,
        ];
    process.stdout.write(
      [
        ...head,
        r.wouldImport
          ? `would import: yes${r.problem ? `, in part (${r.problem.code}: ${r.problem.message})` : ''}`
          : `would import: no (${r.problem?.code}: ${r.problem?.message})`,
        '',
      ].join('\n'),
    );
  } finally {
    await l.close();
  }
}
