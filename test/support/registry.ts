import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { freePort } from './ports';
import { ServiceProcess } from './service-process';

/** A real distribution (docker-registry) instance on loopback. */
export interface TestRegistry {
  /** `127.0.0.1:PORT`, usable in image references. */
  host: string;
  url: string;
  dir: string;
  stop(): Promise<void>;
}

/** Starts Debian's docker-registry on a free loopback port with a temporary store. */
export async function startRegistry(opts: { htpasswd?: string } = {}): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-registry-'));
  const port = await freePort();
  const auth = opts.htpasswd
    ? `auth:\n  htpasswd:\n    realm: airlock-test\n    path: ${join(dir, 'htpasswd')}\n`
    : '';
  if (opts.htpasswd) writeFileSync(join(dir, 'htpasswd'), opts.htpasswd);
  const config = `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${join(dir, 'data')}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${port}
${auth}`;
  writeFileSync(join(dir, 'config.yml'), config);
  const proc = new ServiceProcess(`docker-registry on ${port}`, 'docker-registry', ['serve', join(dir, 'config.yml')]);
  const url = `http://127.0.0.1:${port}`;
  await proc.waitUntil(async () => {
    const r = await request(`${url}/v2/`);
    await r.body.dump();
    return r.statusCode === 200 || r.statusCode === 401;
  });
  return {
    host: `127.0.0.1:${port}`,
    url,
    dir,
    async stop() {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
