import { readFileSync, readdirSync } from 'node:fs';

/** Seconds a thread (or all of a process's threads) ran on a CPU, and waited runnable for one (Linux's run-queue delay). */
export interface Sched {
  cpu: number;
  wait: number;
}

/** From /proc/PID/task/TID/schedstat ("ns on cpu, ns waiting on a run queue, timeslices"); undefined where Linux does not keep it. */
function threadSched(pid: number, tid: number): Sched | undefined {
  try {
    const [cpu, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
    return { cpu: cpu / 1e9, wait: wait / 1e9 };
  } catch {
    return undefined;
  }
}

/** The process's main thread (its event loop, for Node) and all its threads together. */
export function processSched(pid: number): { main: Sched; all: Sched } | undefined {
  const main = threadSched(pid, pid);
  if (!main) return undefined;
  const all = { cpu: 0, wait: 0 };
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  for (const tid of tids) {
    const t = threadSched(pid, Number(tid));
    if (!t) continue;
    all.cpu += t.cpu;
    all.wait += t.wait;
  }
  return { main, all };
}

/**
 * Who had the CPUs during a phase of a benchmark: for each named group of
 * processes, its share of one core, and how long its main thread waited
 * runnable for a CPU. A server that waits on the run queue answers late
 * whatever its own code costs: this is what shows it.
 */
export class CpuShares {
  private readonly start = new Map<string, { main: Sched; all: Sched }>();

  constructor(private readonly groups: Record<string, number[]>) {}

  private read(): Map<string, { main: Sched; all: Sched }> {
    const out = new Map<string, { main: Sched; all: Sched }>();
    for (const [name, pids] of Object.entries(this.groups)) {
      const sum = { main: { cpu: 0, wait: 0 }, all: { cpu: 0, wait: 0 } };
      for (const pid of pids) {
        const s = processSched(pid);
        if (!s) continue;
        sum.main.cpu += s.main.cpu;
        sum.main.wait += s.main.wait;
        sum.all.cpu += s.all.cpu;
        sum.all.wait += s.all.wait;
      }
      out.set(name, sum);
    }
    return out;
  }

  /** Marks the start of the phase. */
  begin(): void {
    this.start.clear();
    for (const [k, v] of this.read()) this.start.set(k, v);
  }

  /** Each group's CPU seconds (all threads) since the start of the phase. */
  cpuSeconds(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, end] of this.read()) {
      const s = this.start.get(name);
      if (s) out[name] = end.all.cpu - s.all.cpu;
    }
    return out;
  }

  /** Rows for a table: each group's CPU (% of one core, all threads), and its main thread's time waiting for a CPU (% of the phase). */
  rows(seconds: number): string[][] {
    const pct = (x: number) => `${((x / seconds) * 100).toFixed(0)}%`;
    const rows: string[][] = [];
    for (const [name, end] of this.read()) {
      const s = this.start.get(name);
      if (!s) continue;
      rows.push([name, pct(end.all.cpu - s.all.cpu), pct(end.main.cpu - s.main.cpu), pct(end.main.wait - s.main.wait)]);
    }
    return rows;
  }
}
