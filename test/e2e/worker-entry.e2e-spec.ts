import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';

/** What a worker process loads (the built tree, as `airlock worker` runs it): never the database or the audit log. */
describe('the worker entry', () => {
  it('loads the promotion run and the queue, and neither better-sqlite3 nor the audit log', () => {
    const root = resolve(__dirname, '..', '..');
    const script = `require(${JSON.stringify(join(root, 'scripts/register-aliases.js'))})(${JSON.stringify(join(root, 'dist'))}); require(${JSON.stringify(join(root, 'dist/apps/worker/src/main.js'))}); process.stdout.write(JSON.stringify(Object.keys(require.cache)))`;
    const loaded = JSON.parse(execFileSync(process.execPath, ['-e', script]).toString()) as string[];
    expect(loaded.filter((k) => /better-sqlite3|libs\/(audit|database)\/|bundle-import|promotion-store/.test(k))).toEqual([]);
    expect(['promote-run', 'image-pipeline', 'bullmq-worker'].map((m) => loaded.some((k) => k.includes(`${m}.js`)))).toEqual([
      true,
      true,
      true,
    ]);
  });
});
