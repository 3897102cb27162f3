import { mkdtempSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, Server } from 'node:net';
import { airlock } from '../support/cli';

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
    const logLines = outputs[3].split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
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
});
