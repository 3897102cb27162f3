import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { airlock } from '../support/cli';

describe('npm run demo: the whole story in one command', () => {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-demo-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('tells it step by step and exits 0', async () => {
    const r = await airlock(['demo', '--dir', dir], { timeoutMs: 180_000 });
    expect(r.stderr).not.toMatch(/airlock: [A-Z_]+:/);
    expect(r.code).toBe(0);
    for (const step of [/dev: .* pushed and signed by dev/, /QA: bob approved/, /QA: skopeo pulls/, /production: alice requested, bob and carol approved/, /bundle exported by olga/, /air-gapped side: every volume/, /production: skopeo pulls/, /receipt carried back: 1 promotion/, /auditor dave: .* requested by alice, approved by bob and carol/, /audit chains verified/, /Where to look next/]) {
      expect(r.stdout).toMatch(step);
    }
  });
});
