import { ChildProcess, spawn } from 'node:child_process';
import { AIRLOCK_BIN } from './cli';

/** An `airlock api|worker|serve` in its own process (so it can be killed with -9), as it runs in production. */
export class AirlockProcess {
  readonly child: ChildProcess;
  private out = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(command: 'api' | 'worker' | 'serve', configPath: string, env: NodeJS.ProcessEnv = {}, nodeArgs: string[] = []) {
    this.child = spawn(process.execPath, [...nodeArgs, AIRLOCK_BIN, command, '--config', configPath], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.on('data', (d) => (this.out = (this.out + d).slice(-4000)));
    this.child.stderr?.on('data', (d) => (this.out = (this.out + d).slice(-4000)));
    this.exited = new Promise((r) => this.child.on('exit', (code, signal) => r({ code, signal })));
  }

  get output(): string {
    return this.out;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    await this.exited;
  }
}

/** A worker in its own process, as `airlock worker` runs in production. */
export class WorkerProcess extends AirlockProcess {
  constructor(configPath: string, env: NodeJS.ProcessEnv = {}, nodeArgs: string[] = []) {
    super('worker', configPath, env, nodeArgs);
  }
}
