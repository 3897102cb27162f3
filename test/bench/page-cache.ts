import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { processSched } from './cpu-shares';

/**
 * Brings the machine to the same memory state before each timed step:
 * dirty pages written back, the page cache dropped, then a pause for the
 * memory freed to go back to the hypervisor (free page reporting, every
 * ~2 s). Without it the step that runs later finds the memory the earlier
 * ones filled and takes reclaimed pages, where the first must have every
 * page it writes fetched from the host (2-4 s of CPU per GiB here, against
 * 0.3 s for pages reused): the order of the steps, not the tools, would
 * decide. Needs root; says so when it cannot.
 */
export async function settleMemory(): Promise<boolean> {
  execFileSync('sync');
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '3');
  } catch {
    return false;
  }
  await sleep(6000);
  return true;
}

/**
 * Page cache the kernel has reclaimed since boot (kswapd and direct), in GiB,
 * and the CPU seconds of the kswapd threads: once the files of earlier steps
 * fill the memory, every page written costs a page reclaimed, on the same
 * two cores.
 */
export function reclaim(): { gib: number; kswapdCpu: number } {
  const v = readFileSync('/proc/vmstat', 'utf8');
  const pages = ['pgsteal_kswapd', 'pgsteal_direct'].reduce((a, k) => a + Number(new RegExp(`^${k} (\\d+)$`, 'm').exec(v)?.[1] ?? 0), 0);
  let kswapdCpu = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('kswapd')) kswapdCpu += processSched(Number(pid))?.all.cpu ?? 0;
    } catch {
      // gone meanwhile
    }
  }
  return { gib: (pages * 4096) / 2 ** 30, kswapdCpu };
}

export function since(before: { gib: number; kswapdCpu: number }): { gib: number; kswapdCpu: number } {
  const now = reclaim();
  return { gib: now.gib - before.gib, kswapdCpu: now.kswapdCpu - before.kswapdCpu };
}
