import { mkdtempSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { connect, createServer, Server } from 'node:net';
import { AIRLOCK_BIN, airlock } from '../support/cli';

/** True when something accepts connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

describe('the run command with nothing configured: the sandbox', () => {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-sandbox-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('starts redis, registries, keys, config and tokens, promotes the signed sample to QA, and does it again on a second start on other ports', async () => {
    const outputs: string[] = [];
    let squatter: Server | undefined;
    for (let run = 0; run < 2; run++) {
      if (run === 1) {
        // the dev registry's first port is taken now: the second start must sign the sample again for its new address
        const devPort = Number(/host: 127\.0\.0\.1:(\d+)/.exec(readFileSync(join(dir, 'airlock.yaml'), 'utf8'))![1]);
        const s = createServer();
        await new Promise<void>((resolve, reject) => s.once('error', reject).listen(devPort, '127.0.0.1', resolve));
        squatter = s;
      }
      const r = await airlock(['sandbox', '--dir', dir, '--check'], { timeoutMs: 120_000 }).finally(() => squatter?.close());
      outputs.push(r.stdout, r.stderr);
      expect(r.stderr).not.toMatch(/INTERNAL/);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/sandbox check: promotion [0-9a-f-]+ completed/);
      expect(r.stdout).toContain('/api/v1/promotions');
    }
    const tokens = JSON.parse(readFileSync(join(dir, 'tokens.json'), 'utf8'));
    // structured JSON request logs on standard error, with request ids, and no token or passphrase in any of it
    const logLines = outputs[3]
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    expect(logLines.some((l) => l.req?.id && l.res?.statusCode === 201)).toBe(true);
    const all = outputs.join('\n');
    for (const t of Object.values(tokens) as string[]) expect(all).not.toContain(t.slice(20));
    for (const s of ['dev', 'qa', 'prod']) expect(all).not.toContain(readFileSync(join(dir, 'secrets', `${s}.pass`), 'utf8'));
    expect(Object.keys(tokens).sort()).toEqual(['alice', 'bob', 'carol', 'dave', 'olga', 'root']);
    expect(existsSync(join(dir, 'keys', 'prod.key'))).toBe(true);
    // no secret in the configuration file
    const cfg = readFileSync(join(dir, 'airlock.yaml'), 'utf8');
    for (const s of ['dev', 'qa', 'prod']) expect(cfg).not.toContain(readFileSync(join(dir, 'secrets', `${s}.pass`), 'utf8'));
  });

  it('stops its redis-server and registries when it is stopped with SIGTERM', async () => {
    const child = spawn(process.execPath, [AIRLOCK_BIN, 'sandbox', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d) => (out += d) && out.includes('Stop with Ctrl-C') && resolve());
      child.once('exit', () => reject(new Error(`the sandbox ended before it was running: ${out}`)));
    });
    const cfg = readFileSync(join(dir, 'airlock.yaml'), 'utf8');
    const ports = [...cfg.matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
    expect(ports.length).toBeGreaterThanOrEqual(4); // redis and three registries
    for (const port of ports) expect(await listening(port)).toBe(true);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    for (const port of ports) expect(await listening(port)).toBe(false);
  });
});
