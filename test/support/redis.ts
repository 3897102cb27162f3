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

/** The process id the redis-server answering on `port` reports, or undefined when nothing answers (INFO server's process_id). */
function serverPid(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    let got = '';
    s.setTimeout(500);
    s.on('connect', () => s.write('INFO server\r\n'));
    s.on('data', (d) => {
      got += d.toString();
      const m = /process_id:(\d+)/.exec(got);
      if (m) {
        s.destroy();
        resolve(Number(m[1]));
      }
    });
    s.on('error', () => resolve(undefined));
    s.on('timeout', () => {
      s.destroy();
      resolve(undefined);
    });
  });
}

/**
 * Starts Debian's redis-server on a free port with a temporary data folder
 * (AOF optional). The server that answers must be the one started here (its
 * INFO names our child's pid): a port another test took between the pick and
 * the bind fails our server, and a fresh port is tried, instead of the test
 * using someone else's Redis.
 */
export async function startRedis(opts: { appendonly?: boolean; dir?: string; port?: number } = {}): Promise<TestRedis> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'airlock-redis-'));
  for (let attempt = 1; ; attempt++) {
    const port = opts.port ?? (await freePort());
    const proc = new ServiceProcess(`redis-server on ${port}`, 'redis-server', [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      opts.appendonly ? 'yes' : 'no',
      '--maxmemory-policy',
      'noeviction',
      '--protected-mode',
      'yes',
    ]);
    try {
      await proc.waitUntil(async () => {
        const pid = await serverPid(port);
        if (pid !== undefined && pid !== proc.child.pid) throw new Error(`port ${port} is held by another redis-server (pid ${pid})`);
        return pid === proc.child.pid;
      });
    } catch (e) {
      await proc.stop();
      if (opts.port !== undefined || attempt >= 5) throw e;
      continue;
    }
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
}
