import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configReference } from '@airlock/common/config';
import { auditActionsReference } from '@airlock/audit';
import { sandboxBanner } from '../../apps/cli/src/sandbox/sandbox-banner';

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

describe("the README's sandbox stories", () => {
  it('are the commands the sandbox banner prints for the default folder and ports', () => {
    const root = join(__dirname, '..', '..');
    const dir = join(root, '.airlock');
    const banner = sandboxBanner(
      {
        dir,
        lowDir: join(dir, 'low'),
        highDir: join(dir, 'high'),
        media: join(dir, 'media'),
        lowConfig: join(dir, 'low', 'airlock.yaml'),
        highConfig: join(dir, 'high', 'airlock.yaml'),
        lowUrl: 'http://127.0.0.1:8080',
        highUrl: 'http://127.0.0.1:8090',
        hosts: { dev: '127.0.0.1:5101', qa: '127.0.0.1:5102', prod: '127.0.0.1:5103' },
        sample: { ref: '127.0.0.1:5101/team/hello:1.0', digest: 'sha256:' + '0'.repeat(64) },
      },
      root,
    );
    const stories = banner
      .slice(banner.indexOf('1. Approver'), banner.indexOf('\nStop with'))
      .trimEnd()
      .split('\n')
      .map((l) => (l.startsWith('  ') ? l.slice(2) : l ? `# ${l}` : l))
      .join('\n');
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const m = /<!-- sandbox-stories:start -->\n```sh\n([\s\S]*?)\n```\n<!-- sandbox-stories:end -->/.exec(readme);
    expect(m).not.toBeNull();
    expect((m as RegExpExecArray)[1]).toBe(stories);
  });
});
