import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configReference } from '@airlock/common/config';
import { auditActionsReference } from '@airlock/audit';

describe('the README', () => {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');

  it('carries the configuration reference generated from the schema', () => {
    const m = /<!-- config-reference:start -->\n([\s\S]*?)<!-- config-reference:end -->/.exec(readme);
    expect(m).not.toBeNull();
    expect((m as RegExpExecArray)[1]).toBe(configReference());
  });

  it('carries the catalogue of audit actions the code appends', () => {
    const m = /<!-- audit-actions:start -->\n([\s\S]*?)<!-- audit-actions:end -->/.exec(readme);
    expect(m).not.toBeNull();
    expect((m as RegExpExecArray)[1]).toBe(auditActionsReference());
  });

  it('gives the two commands CI and users run', () => {
    expect(readme).toMatch(/npm start {4}# run airlock/);
    expect(readme).toMatch(/npm test {5}# install what is missing, then run the whole suite/);
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'));
    expect(pkg.scripts.start).toBe('bash scripts/start.sh');
    expect(pkg.scripts.test).toBe('bash scripts/test.sh');
    expect(readFileSync(join(__dirname, '..', '..', '.ci', 'run'), 'utf8')).toMatch(/\nnpm test\n/);
  });
});
