import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'node:net';
import { freePort } from './ports';
import { ServiceProcess } from './service-process';

/** A real redis-server on loopback. */
export interface TestRedis {
  host: string;
  port: number;
  url: string;
  dir: string;
  process: ServiceProcess;
  stop(): Promise<void>;
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.setTimeout(500);
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => {
      s.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    s.on('error', () => resolve(false));
    s.on('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}

/** Starts Debian's redis-server on a free port with a temporary data folder (AOF optional). */
export async function startRedis(opts: { appendonly?: boolean; dir?: string; port?: number } = {}): Promise<TestRedis> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'airlock-redis-'));
  const port = opts.port ?? (await freePort());
  const proc = new ServiceProcess(`redis-server on ${port}`, 'redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', opts.appendonly ? 'yes' : 'no',
    '--maxmemory-policy', 'noeviction', '--protected-mode', 'yes',
  ]);
  await proc.waitUntil(() => ping(port));
  return {
    host: '127.0.0.1',
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    process: proc,
    async stop() {
      await proc.stop();
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
