import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { AIRLOCK_BIN } from '../support/cli';

/** Wall time, peak resident memory and CPU time (all threads, as last sampled, every 10 ms) of one process run. */
export interface ProcessSample {
  seconds: number;
  peakRssMiB: number;
  cpuSeconds: number;
}

/** CPU seconds of a process so far, threads that ended included (utime + stime of /proc/PID/stat, in ticks of 1/100 s). */
function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the fields after the command name, which is in parentheses and may hold spaces
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

function vmHwmKiB(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Runs a command, sampling its high-water RSS from /proc until it exits; fails on a non-zero exit. */
export function measureProcess(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<ProcessSample> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
    let err = '';
    let peak = 0;
    child.stderr.on('data', (d) => (err = (err + d).slice(-2000)));
    let cpu = 0;
    const poll = setInterval(() => {
      peak = Math.max(peak, vmHwmKiB(child.pid!));
      cpu = Math.max(cpu, cpuSecondsOf(child.pid!));
    }, 10);
    child.on('exit', (code, signal) => {
      clearInterval(poll);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} ${signal ? `was killed by ${signal}` : `exited ${code}`}: ${err}`));
      else resolve({ seconds, peakRssMiB: peak / 1024, cpuSeconds: cpu });
    });
  });
}

/** Times an in-process async function. */
export async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] : NaN;
}

/** The airlock command as users run it (BENCH_PROFILE_DIR=/some/dir: each run writes a V8 CPU profile there). */
export const AIRLOCK = [
  ...(process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : []),
  AIRLOCK_BIN,
];

/** Prints a table of rows with aligned columns. */
export function table(title: string, header: string[], rows: (string | number)[][]): void {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)));
  console.log(`\n## ${title}`);
  for (const [i, r] of cells.entries()) {
    console.log(r.map((c, j) => String(c ?? '').padEnd(widths[j])).join('  '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

export function fmt(n: number): string {
  if (n === 0) return '0';
  if (Math.abs(n) >= 100) return n.toFixed(0);
  if (Math.abs(n) >= 1) return n.toFixed(2);
  return n.toFixed(3);
}
