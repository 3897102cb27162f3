import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { airlock } from '../support/cli';

describe('npm run demo: the whole story in one command (dev signed with cosign, every stage re-signing in both dialects)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-demo-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('tells it step by step and exits 0', async () => {
    const r = await airlock(['demo', '--dir', dir], { timeoutMs: 180_000 });
    expect(r.stderr).not.toMatch(/airlock: [A-Z_]+:/);
    expect(r.code).toBe(0);
    for (const step of [
      /dev: .* pushed and signed as CI signs it with cosign/,
      /QA: bob approved; the worker verified dev's cosign signature.*both dialects/,
      /QA: skopeo pulls/,
      /QA: its cosign signature .* verifies with qa's sigstore key/,
      /production: alice requested, bob and carol approved/,
      /bundle exported by olga/,
      /air-gapped side: every volume/,
      /production: skopeo pulls/,
      /production: its cosign signature .* verifies with prod's sigstore key/,
      /receipt carried back: 1 promotion/,
      /auditor dave: .* requested by alice, approved by bob and carol/,
      /audit chains verified/,
      /Where to look next/,
    ]) {
      expect(r.stdout).toMatch(step);
    }
  });
});
