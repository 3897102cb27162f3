import { mkdtempSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { airlock } from '../support/cli';

describe('the run command with nothing configured: the sandbox', () => {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-sandbox-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('starts redis, registries, keys, config and tokens, promotes the signed sample to QA, and does it again on a second start', async () => {
    for (let run = 0; run < 2; run++) {
      const r = await airlock(['sandbox', '--dir', dir, '--check'], { timeoutMs: 120_000 });
      expect(r.stderr).not.toMatch(/INTERNAL/);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/sandbox check: promotion [0-9a-f-]+ completed/);
      expect(r.stdout).toContain('/api/v1/promotions');
    }
    const tokens = JSON.parse(readFileSync(join(dir, 'tokens.json'), 'utf8'));
    expect(Object.keys(tokens).sort()).toEqual(['alice', 'bob', 'carol', 'dave', 'olga', 'root']);
    expect(existsSync(join(dir, 'keys', 'prod.key'))).toBe(true);
    // no secret in the configuration file
    const cfg = readFileSync(join(dir, 'airlock.yaml'), 'utf8');
    for (const s of ['dev', 'qa', 'prod']) expect(cfg).not.toContain(readFileSync(join(dir, 'secrets', `${s}.pass`), 'utf8'));
  });
});
