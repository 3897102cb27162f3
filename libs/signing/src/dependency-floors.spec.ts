import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The installed version of a package (its package.json may not be exported, so it is found on disk). */
function version(pkg: string): number[] {
  let d = __dirname;
  while (!existsSync(join(d, 'node_modules', pkg, 'package.json'))) {
    if (dirname(d) === d) throw new Error(`${pkg} is not installed`);
    d = dirname(d);
  }
  const v = JSON.parse(readFileSync(join(d, 'node_modules', pkg, 'package.json'), 'utf8')).version as string;
  return v.split('.').map((x) => parseInt(x, 10));
}
const atLeast = (v: number[], floor: number[]) => {
  for (let i = 0; i < floor.length; i++) if ((v[i] ?? 0) !== floor[i]) return (v[i] ?? 0) > floor[i];
  return true;
};

describe('dependency floors', () => {
  it('openpgp is at least 6.1.1 (CVE-2025-47934: forged messages with two literal packets)', () => {
    expect(atLeast(version('openpgp'), [6, 1, 1])).toBe(true);
  });
  it('better-sqlite3 is on 12.x (13 needs Node 22)', () => {
    expect(version('better-sqlite3')[0]).toBe(12);
  });
});
