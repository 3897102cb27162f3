import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry, TestRegistry } from '../support/registry';
import { pushIndex, pushRandomImage } from '../support/images';
import { skopeoRawDigest } from '../support/skopeo';
import { airlock } from '../support/cli';
import { freePort } from '../support/ports';

describe('airlock copy (the command)', () => {
  let a: TestRegistry;
  let b: TestRegistry;
  let work: string;
  beforeAll(async () => {
    [a, b] = await Promise.all([startRegistry(), startRegistry()]);
    work = mkdtempSync(join(tmpdir(), 'airlock-cli-'));
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    rmSync(work, { recursive: true, force: true });
  });

  it('copies one image and prints its digest and destination', async () => {
    const img = await pushRandomImage({ url: a.url, host: a.host }, 'cli/app', '2.0', { layers: [3 << 20, 100] });
    const r = await airlock(['copy', '--src-insecure', '--dest-insecure', img.reference, `${b.host}/cli/app:2.0`]);
    expect(r.stderr).not.toMatch(/INTERNAL/);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`${img.digest} ${b.host}/cli/app:2.0`);
    expect(await skopeoRawDigest(`${b.host}/cli/app:2.0`)).toBe(img.digest);
  });

  it('copies a batch from --list with JSON results', async () => {
    const imgs = [];
    for (let i = 0; i < 4; i++) imgs.push(await pushRandomImage({ url: a.url, host: a.host }, `cli/batch${i}`, 'v', { layers: [500_000] }));
    const idx = await pushIndex({ url: a.url, host: a.host }, 'cli/multi', 'v', ['amd64', 'arm64']);
    const list = join(work, 'list.txt');
    writeFileSync(
      list,
      ['# batch', ...imgs.map((im, i) => `${im.reference} ${b.host}/cli/batch${i}:v`), `${idx.reference}   ${b.host}/cli/multi:v`, ''].join(
        '\n',
      ),
    );
    const r = await airlock(['copy', '--src-insecure', '--dest-insecure', '--json', '--list', list]);
    expect(r.code).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(5);
    expect(new Set(lines.map((l) => l.digest))).toEqual(new Set([...imgs.map((i) => i.digest), idx.digest]));
    expect(await skopeoRawDigest(`${b.host}/cli/multi:v`)).toBe(idx.digest);
  });

  it('exits 7 when some images of a batch fail, and says which line', async () => {
    const img = await pushRandomImage({ url: a.url, host: a.host }, 'cli/partial', 'v');
    const list = join(work, 'partial.txt');
    writeFileSync(list, `${img.reference} ${b.host}/cli/partial:v\n${a.host}/cli/missing:v ${b.host}/cli/missing:v\n`);
    const r = await airlock(['copy', '--src-insecure', '--dest-insecure', '--list', list]);
    expect(r.code).toBe(7);
    expect(r.stderr).toMatch(/line 2: MANIFEST_UNKNOWN/);
    expect(r.stdout).toContain(img.digest);
  });

  it.each([
    [['copy', 'only-one'], 2, /INVALID_ARGUMENT/],
    [['copy', 'Bad/Ref', 'x/y'], 2, /INVALID_REFERENCE/],
    [['copy', '--concurrency', '0', 'a/b', 'c/d'], 2, /INVALID_ARGUMENT/],
    [['copy', '--bogus-flag', 'a/b', 'c/d'], 2, /unknown option/],
    [['copy', 'a/b', 'c/d', 'e/f'], 2, /INVALID_ARGUMENT/],
    [['copy', '--concurrency'], 2, /argument missing/],
  ])('%j exits %d with one clear line', async (args, code, re) => {
    const r = await airlock(args);
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(re);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('answers --help from the full command line, with every option of the fast path', async () => {
    const r = await airlock(['copy', '--help']);
    expect(r.code).toBe(0);
    for (const f of ['--src-insecure', '--dest-insecure', '--concurrency <n>', '--list <file>', '-q, --quiet', '--json'])
      expect(r.stdout).toContain(f);
  });

  it('exits 5 for a missing source and 3 for a plain-HTTP registry not marked insecure', async () => {
    const missing = await airlock(['copy', '--src-insecure', '--dest-insecure', `${a.host}/nope/nope:1`, `${b.host}/nope/nope:1`]);
    expect(missing.code).toBe(5);
    expect(missing.stderr.trim()).toMatch(/^airlock: MANIFEST_UNKNOWN: /);
    const img = await pushRandomImage({ url: a.url, host: a.host }, 'cli/tls', 'v');
    const tls = await airlock(['copy', '--src-insecure', img.reference, `${b.host}/cli/tls:v`], {
      env: { AIRLOCK_INSECURE_REGISTRIES: '' },
    });
    expect(tls.code).toBe(3);
    expect(tls.stderr).toMatch(/REGISTRY_UNAVAILABLE.*insecure/);
  });

  it('says when it retries and why, and gives up on a closed port after one round of attempts', async () => {
    const closed = await freePort();
    const t0 = Date.now();
    const r = await airlock(['copy', '--src-insecure', '--dest-insecure', `127.0.0.1:${closed}/cli/gone:1`, `${b.host}/cli/gone:1`]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`airlock: registry 127.0.0.1:${closed} unavailable (ping: connect ECONNREFUSED`);
    expect(r.stderr).toMatch(/attempt 2 of 5 in \d+\.\d s\n/);
    expect(r.stderr).toMatch(/attempt 5 of 5 in/);
    expect(r.stderr).not.toMatch(/attempt 2 of 5[\s\S]*attempt 5 of 5[\s\S]*attempt 2 of 5/);
    expect(r.stderr.trim().split('\n').pop()).toMatch(
      /^airlock: REGISTRY_UNAVAILABLE: connecting to registry 127\.0\.0\.1:\d+ failed after 5 attempts/,
    );
    // one round of backoff (at most 0.2 + 0.4 + 0.8 + 1.6 s), not a round per request and scheme as before (24 s)
    expect(Date.now() - t0).toBeLessThan(10_000);
    const quiet = await airlock([
      'copy',
      '-q',
      '--src-insecure',
      '--dest-insecure',
      `127.0.0.1:${closed}/cli/gone:1`,
      `${b.host}/cli/gone:1`,
    ]);
    expect(quiet.stderr).not.toMatch(/attempt \d of/);
  });
});
