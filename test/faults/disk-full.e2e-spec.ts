import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyStoredChain } from '@airlock/audit';
import { startPipeline, Pipeline } from '../support/pipeline';
import { pushRandomImage } from '../support/images';

/** A small tmpfs for the database, where the machine lets us mount one (root on this kind of machine). */
function mountSmall(dir: string, size: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const disk = mkdtempSync(join(tmpdir(), 'airlock-smalldisk-'));
const mounted = mountSmall(disk, '3m');
if (!mounted) process.stderr.write('disk-full test: cannot mount a tmpfs here; skipped\n');

(mounted ? describe : describe.skip)('the database on a full disk', () => {
  let p: Pipeline;
  let img: { reference: string; digest: string };
  afterAll(async () => {
    await p?.stop();
    execFileSync('umount', [disk], { stdio: 'ignore' });
    rmSync(disk, { recursive: true, force: true });
  });

  it('refuses requests with DATABASE_FULL, writes nothing half, and recovers when space returns', async () => {
    p = await startPipeline(
      [
        { name: 'dev' },
        { name: 'qa', from: [{ stage: 'dev', mapping: [{ from: '{dev}/team/*', to: '{qa}/team/*' }] }], approvals: { required: 1 } },
      ],
      {
        extra: () => ({ database: join(disk, 'airlock.db'), audit: { checkpointIntervalSeconds: 0 } }),
      },
    );
    const dev = p.registries.dev;
    img = await pushRandomImage({ url: dev.url, host: dev.host }, 'team/full', '1', { layers: [1000] });
    await p.signInStage('dev', 'team/full', img.digest, img.reference);
    const before = (await p.call('GET', '/api/v1/promotions', p.tokens.dave)).body.items.length;
    // fill the disk
    const filler = join(disk, 'filler');
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=64k'], { stdio: 'ignore' });
    } catch {
      /* dd stops at "no space left" */
    }
    let refused: { status: number; body: { error?: { code: string; message: string } } } | undefined;
    for (let i = 0; i < 200 && !refused; i++) {
      const r = await p.call('POST', '/api/v1/promotions', p.tokens.alice, {
        image: img.reference,
        from: 'dev',
        to: 'qa',
        reason: 'x'.repeat(1500),
      });
      if (r.status >= 500) refused = r;
    }
    expect(refused?.status).toBe(507);
    expect(refused?.body.error?.code).toBe('DATABASE_FULL');
    rmSync(filler);
    // the refused request left nothing: every promotion listed is whole, and the chain verifies
    const after = await p.call('POST', '/api/v1/promotions', p.tokens.alice, { image: img.reference, from: 'dev', to: 'qa' });
    expect(after.status).toBe(201);
    const list = (await p.call('GET', '/api/v1/promotions?limit=200', p.tokens.dave)).body.items;
    expect(list.length).toBeGreaterThan(before);
    for (const x of list) expect(x.digest).toMatch(/^sha256:/);
    expect(verifyStoredChain(p.api.runtime.db).report.ok).toBe(true);
    expect(existsSync(join(disk, 'airlock.db'))).toBe(true);
    writeFileSync(join(disk, 'probe'), 'space is back');
  });
});
