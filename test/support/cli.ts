import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** bin/airlock.js of this checkout, found from here whether run by ts-jest (test/support) or compiled (.bench/test/support). */
export const AIRLOCK_BIN = (() => {
  for (let d = __dirname; d !== dirname(d); d = dirname(d))
    if (existsSync(join(d, 'bin', 'airlock.js'))) return join(d, 'bin', 'airlock.js');
  throw new Error(`bin/airlock.js not found above ${__dirname}`);
})();
const BIN = AIRLOCK_BIN;

/** Runs the built `airlock` command as a user would, without a terminal. */
export function airlock(args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.on('error', () => undefined); // the command may exit before reading its input
    child.stdin.end(opts.input ?? '');
  });
}
