import { ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AirlockError } from '@airlock/common';

/** A port on 127.0.0.1: `preferred` when free, else any free one. */
export async function pickPort(preferred: number): Promise<number> {
  const tryListen = (p: number) =>
    new Promise<number | undefined>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(undefined));
      s.listen(p, '127.0.0.1', () => {
        const got = (s.address() as { port: number }).port;
        s.close(() => resolve(got));
      });
    });
  return (await tryListen(preferred)) ?? ((await tryListen(0)) as number);
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** A child service of the sandbox, stopped when the sandbox stops. */
export class LocalService {
  private exited = false;
  private tail = '';
  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    child.stdout?.on('data', (d) => (this.tail = (this.tail + d).slice(-2000)));
    child.stderr?.on('data', (d) => (this.tail = (this.tail + d).slice(-2000)));
    child.on('exit', () => (this.exited = true));
    child.on('error', (e) => {
      this.exited = true;
      this.tail += e.message;
    });
  }

  async waitForPort(port: number, timeoutMs = 15_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      if (this.exited) throw new AirlockError('INTERNAL', `${this.name} exited: ${this.tail.trim().split('\n').pop()}`);
      if (await portOpen(port)) return;
      await sleep(50);
    }
    throw new AirlockError('INTERNAL', `${this.name} did not start on port ${port}`);
  }

  /** SIGTERM, then SIGKILL after 5 s; resolves once the service has exited (its port is free again). */
  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const kill = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(kill);
  }
}

/** Starts Debian's redis-server for the sandbox (AOF on, noeviction) with its data under `dir`. */
export async function startRedisServer(dir: string, port: number): Promise<LocalService> {
  mkdirSync(dir, { recursive: true });
  const s = new LocalService(
    'redis-server',
    spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--appendonly',
        'yes',
        '--save',
        '',
        '--maxmemory-policy',
        'noeviction',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    ),
  );
  await s.waitForPort(port);
  return s;
}

/** Starts Debian's docker-registry for one stage with its storage under `dir`. */
export async function startRegistryServer(name: string, dir: string, port: number): Promise<LocalService> {
  mkdirSync(join(dir, 'data'), { recursive: true });
  const cfg = join(dir, 'config.yml');
  writeFileSync(
    cfg,
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  cache:\n    blobdescriptor: inmemory\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n`,
  );
  const s = new LocalService(`registry ${name}`, spawn('docker-registry', ['serve', cfg], { stdio: ['ignore', 'pipe', 'pipe'] }));
  await s.waitForPort(port);
  return s;
}
