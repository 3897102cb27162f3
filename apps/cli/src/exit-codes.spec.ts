import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AirlockError, ERROR_CODES } from '@airlock/common';
import { exitCodeFor } from './exit-codes';

/** The README's exit-code table, as code (or CODE_* class) -> exit code. */
function documented(): { exact: Map<string, number>; classes: [string, number][] } {
  const readme = readFileSync(join(__dirname, '..', '..', '..', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Exit codes'), readme.indexOf('\n## ', readme.indexOf('## Exit codes') + 5));
  const exact = new Map<string, number>();
  const classes: [string, number][] = [];
  for (const m of section.matchAll(/^\| (\d) \| (.*) \|$/gm)) {
    for (const [, code] of m[2].matchAll(/`([A-Z_]+\*?)`/g)) {
      if (code.endsWith('*')) classes.push([code.slice(0, -1), Number(m[1])]);
      else exact.set(code, Number(m[1]));
    }
  }
  return { exact, classes };
}

describe('exit codes', () => {
  it('every code of the catalogue exits as the README table says (named, or by its class)', () => {
    const { exact, classes } = documented();
    for (const code of ERROR_CODES) {
      const want = exact.get(code) ?? classes.find(([prefix]) => code.startsWith(prefix))?.[1];
      expect([code, exitCodeFor(new AirlockError(code, 'x'))]).toEqual([code, want]);
    }
  });

  it('names no code the catalogue does not have', () => {
    for (const code of documented().exact.keys()) expect(ERROR_CODES).toContain(code);
  });
});
