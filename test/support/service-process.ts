import { ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

/** A real server process started for a test, with its recent output kept for error messages. */
export class ServiceProcess {
  private output = '';
  readonly child: ChildProcess;
  private exited = false;

  constructor(
    readonly name: string,
    cmd: string,
    args: string[],
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    const keep = (b: Buffer) => {
      this.output = (this.output + b.toString()).slice(-4000);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.child.on('exit', () => (this.exited = true));
    this.child.on('error', (e) => {
      this.exited = true;
      this.output += `\nspawn failed: ${e.message}`;
    });
  }

  /** Polls `probe` until it returns true; fails with the process output after `timeoutMs`. */
  async waitUntil(probe: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      if (this.exited) throw new Error(`${this.name} exited early:\n${this.output}`);
      try {
        if (await probe()) return;
      } catch {
        /* not yet */
      }
      await sleep(50);
    }
    throw new Error(`${this.name} did not become ready in ${timeoutMs} ms:\n${this.output}`);
  }

  /** Stops the process (SIGTERM, then SIGKILL). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.kill(signal);
    const t = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await done;
    clearTimeout(t);
  }
}
