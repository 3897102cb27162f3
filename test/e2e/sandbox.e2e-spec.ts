import { mkdtempSync, rmSync, readFileSync, existsSync, readdirSync, writeFileSync, mkdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChildProcessByStdio, spawn, spawnSync } from 'node:child_process';
import type { Readable } from 'node:stream';
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

const ports = (cfg: string) => [...readFileSync(cfg, 'utf8').matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));

/**
 * `airlock sandbox ARGS` started and running ("Stop with Ctrl-C" printed),
 * with its exit, what it printed on standard output, and a wait that, when
 * it does not end in time, fails with the tail of what the sandbox printed
 * instead of leaving the test's timeout to say nothing.
 */
async function runningSandbox(
  args: string[],
  o: { cwd?: string } = {},
): Promise<{
  child: ChildProcessByStdio<null, Readable, Readable>;
  exited: Promise<number | null>;
  stdout(): string;
  within<T>(p: Promise<T>, ms: number, what: string): Promise<T>;
}> {
  const child = spawn(process.execPath, [AIRLOCK_BIN, 'sandbox', ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...o });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stdout = '';
  let tail = '';
  child.stderr.on('data', (d) => (tail = (tail + d).slice(-20_000)));
  const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
    Promise.race([
      p,
      new Promise<T>((_, reject) =>
        setTimeout(() => reject(new Error(`${what} within ${ms / 1000} s; the sandbox printed:\n${tail}`)), ms).unref(),
      ),
    ]);
  await within(
    new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        stdout += d;
        tail = (tail + d).slice(-20_000);
        if (stdout.includes('Stop with Ctrl-C')) resolve();
      });
      child.once('exit', () => reject(new Error(`the sandbox ended before it was running: ${tail}`)));
    }),
    75_000,
    'the sandbox was not running',
  );
  return { child, exited, stdout: () => stdout, within };
}

describe('the run command with nothing configured: the sandbox, both sides of the gap', () => {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-sandbox-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('sets up both sides, promotes the signed sample to QA, and on a second start (other ports) reuses its tokens', async () => {
    const outputs: string[] = [];
    let squatter: Server | undefined;
    const saved: string[] = [];
    for (let run = 0; run < 2; run++) {
      if (run === 1) {
        // the dev registry's first port is taken now: the second start must sign the sample again for its new address
        const devPort = Number(/host: 127\.0\.0\.1:(\d+)/.exec(readFileSync(join(dir, 'low', 'airlock.yaml'), 'utf8'))![1]);
        const s = createServer();
        await new Promise<void>((resolve, reject) => s.once('error', reject).listen(devPort, '127.0.0.1', resolve));
        squatter = s;
      }
      const r = await airlock(['sandbox', '--dir', dir, '--check'], { timeoutMs: 120_000 }).finally(() => squatter?.close());
      outputs.push(r.stdout, r.stderr);
      expect(r.stderr).not.toMatch(/INTERNAL/);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/sandbox check: promotion [0-9a-f-]+ completed/);
      saved.push(readFileSync(join(dir, 'low', 'tokens.json'), 'utf8') + readFileSync(join(dir, 'high', 'tokens.json'), 'utf8'));
    }
    // a second start mints nothing: the tokens of the first still authenticate
    expect(saved[1]).toBe(saved[0]);
    const tokens = { ...JSON.parse(readFileSync(join(dir, 'low', 'tokens.json'), 'utf8')) };
    expect(Object.keys(tokens).sort()).toEqual(['alice', 'bob', 'carol', 'dave', 'olga', 'root']);
    // structured JSON request logs on standard error (not a terminal), with request ids, and no token or passphrase in any of it
    const logLines = outputs[3]
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    expect(logLines.some((l) => l.req?.id && l.res?.statusCode === 201)).toBe(true);
    const all = outputs.join('\n');
    for (const t of Object.values(tokens) as string[]) expect(all).not.toContain(t.slice(20));
    const secrets = [
      join(dir, 'low', 'secrets', 'dev.pass'),
      join(dir, 'low', 'secrets', 'qa.pass'),
      join(dir, 'high', 'secrets', 'prod.pass'),
    ];
    for (const s of secrets) expect(all).not.toContain(readFileSync(s, 'utf8'));
    // the production key lives on the air-gapped side only
    expect(existsSync(join(dir, 'high', 'keys', 'prod.key'))).toBe(true);
    expect(existsSync(join(dir, 'low', 'keys', 'prod.key'))).toBe(false);
    for (const side of ['low', 'high']) {
      const cfg = readFileSync(join(dir, side, 'airlock.yaml'), 'utf8');
      for (const s of secrets) expect(cfg).not.toContain(readFileSync(s, 'utf8'));
      expect(readdirSync(join(dir, side, 'contexts')).sort()).toEqual(
        ['alice', 'bob', 'carol', 'dave', 'olga', 'root'].map((u) => `${u}.json`),
      );
    }
  });

  it('runs each story of the banner as printed (approver, operator across the gap, auditor, cluster admin), then stops everything on SIGTERM', async () => {
    // a project folder of its own, as after npm start there: .airlock inside it, npx finding airlock in node_modules/.bin
    const project = mkdtempSync(join(tmpdir(), 'airlock-project-'));
    writeFileSync(join(project, 'package.json'), '{"name":"sandbox-user","private":true}\n');
    mkdirSync(join(project, 'node_modules', '.bin'), { recursive: true });
    symlinkSync(AIRLOCK_BIN, join(project, 'node_modules', '.bin', 'airlock'));
    const dir = join(project, '.airlock');
    const { child, exited, stdout, within } = await runningSandbox([], { cwd: project });
    const out = stdout();
    const open = [...ports(join(dir, 'low', 'airlock.yaml')), ...ports(join(dir, 'high', 'airlock.yaml'))];
    expect(open.length).toBeGreaterThanOrEqual(6); // two APIs, two Redis servers, three registries (qa twice)
    for (const port of open) expect(await listening(port)).toBe(true);
    try {
      const lines = out.slice(out.indexOf('\n1. Approver')).split('\n');
      const script = lines.filter((l) => l.startsWith('  ')).map((l) => l.slice(2));
      expect(script.length).toBeGreaterThanOrEqual(18);
      // the commands exactly as printed, from the project folder, as a person would paste them
      const env = { ...process.env, AIRLOCK_URL: '', AIRLOCK_TOKEN: '', AIRLOCK_CONFIG: '', AIRLOCK_CONTEXT: '' };
      // found without flags: the low side's configuration from ./.airlock, the people's contexts by relative path
      expect(script.filter((l) => l.includes('AIRLOCK_CONFIG=.airlock/low'))).toEqual([]);
      const r = spawnSync('bash', ['-euo', 'pipefail', '-c', script.join('\n')], { cwd: project, env, encoding: 'utf8', timeout: 180_000 });
      expect([r.status, r.stderr.split('\n').filter((l) => l.startsWith('airlock: '))]).toEqual([0, []]);
      expect(r.stdout).toMatch(/ published -> completed\n/);
      expect(r.stdout).toMatch(/ verifying -> exporting\n/);
      expect(r.stdout).toMatch(/would import: yes/);
      expect(r.stdout).toMatch(/bundle [0-9a-f-]+ sequence \d+ imported: 127\.0\.0\.1:\d+\/team\/hello:1\.0@sha256:/);
      expect(r.stdout).toMatch(/receipt for bundle [0-9a-f-]+: 1 promotion imported/);
      expect(r.stdout).toMatch(/promotion [0-9a-f-]+: imported\n/);
      expect(r.stdout).toMatch(/promotion\.state\s+[0-9a-f-]+\s+exported -> imported\n/);
      expect(r.stdout.match(/^chain ok: \d+ events/gm)).toHaveLength(2);
      expect(existsSync(join(dir, 'prod-cluster', 'policy.json'))).toBe(true);
      expect(existsSync(join(dir, 'qa-cluster', 'airlock-qa-kyverno-clusterpolicy.yaml'))).toBe(true);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await within(exited, 40_000, 'the sandbox did not exit on SIGTERM')).toBe(0);
    for (const port of open) expect(await listening(port)).toBe(false);
    rmSync(project, { recursive: true, force: true });
  });

  it('stops its registries and exits on SIGTERM even after its Redis servers died under it (it hung before)', async () => {
    const gone = mkdtempSync(join(tmpdir(), 'airlock-sandbox-noredis-'));
    const { child, exited, within } = await runningSandbox(['--dir', gone]);
    try {
      const registries = [...ports(join(gone, 'low', 'airlock.yaml')), ...ports(join(gone, 'high', 'airlock.yaml'))];
      for (const side of ['low', 'high']) {
        const redisPort = Number(
          /redis:\s*\n?\s*url: redis:\/\/127\.0\.0\.1:(\d+)/.exec(readFileSync(join(gone, side, 'airlock.yaml'), 'utf8'))?.[1],
        );
        spawnSync('redis-cli', ['-p', String(redisPort), 'shutdown', 'nosave']);
        expect(await listening(redisPort)).toBe(false);
      }
      child.kill('SIGTERM');
      const t0 = Date.now();
      expect(await within(exited, 40_000, 'the sandbox did not exit on SIGTERM')).toBe(0);
      expect(Date.now() - t0).toBeLessThan(40_000);
      for (const port of registries) expect(await listening(port)).toBe(false);
    } finally {
      child.kill('SIGKILL');
      rmSync(gone, { recursive: true, force: true });
    }
  });

  it('a command that finds no configuration says where it looked and how to point at one', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'airlock-noconfig-'));
    try {
      const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const c = spawn(process.execPath, [AIRLOCK_BIN, 'audit', 'verify'], { cwd: empty, env: { ...process.env, AIRLOCK_CONFIG: '' } });
        let stderr = '';
        c.stderr.on('data', (d) => (stderr += d));
        c.on('close', (code) => resolve({ code, stderr }));
      });
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(
        `airlock: CONFIG_INVALID: no configuration: looked for --config, $AIRLOCK_CONFIG, ./airlock.yaml and the sandbox's ./.airlock/low/airlock.yaml (in ${empty}); pass --config FILE or set AIRLOCK_CONFIG, or run npm start here for a sandbox\n`,
      );
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
