import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry } from '../support/registry';
import { pushRandomImage } from '../support/images';
import { AIRLOCK_BIN } from '../support/cli';
import { measureProcess, median, table } from './harness';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);

/** The machine's node and Node 24 (fetched as the test command does), each once. */
function runtimes(): { name: string; node: string }[] {
  const mine = process.versions.node.split('.')[0];
  const majors = [...new Set([mine, '24'])];
  return majors.map((m) => {
    const node =
      m === mine
        ? process.execPath
        : execFileSync('bash', ['scripts/node-runtime.sh', m], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
    return { name: `Node ${execFileSync(node, ['--version'], { encoding: 'utf8' }).trim()}`, node };
  });
}

/**
 * How long a CLI command takes to start and finish when it has (almost)
 * nothing to do, on each runtime, with Node's on-disk compile cache and
 * without (NODE_DISABLE_COMPILE_CACHE=1), beside skopeo doing the same:
 * `--version`, and a copy of an image whose blobs are all present already.
 */
export async function startupBench(): Promise<void> {
  const [a, b] = await Promise.all([startRegistry(), startRegistry()]);
  const cache = mkdtempSync(join(tmpdir(), 'airlock-compile-cache-'));
  try {
    const img = await pushRandomImage({ url: a.url, host: a.host }, 'bench/small', '1', { layers: [1 << 20, 1 << 20] });
    const copyArgs = ['--src-insecure', '--dest-insecure', '-q', img.reference, `${b.host}/bench/small:1`];
    const skCopy = [
      'copy',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      '-q',
      `docker://${img.reference}`,
      `docker://${b.host}/bench/small:1`,
    ];
    await measureProcess('skopeo', skCopy); // the first copy moves the blobs: every run below finds them present
    const rows: (string | number)[][] = [];
    const sample = async (cmd: string, args: string[], env: NodeJS.ProcessEnv) => {
      await measureProcess(cmd, args, env); // warm the page cache (and the compile cache, when on)
      const s: number[] = [];
      for (let i = 0; i < RUNS; i++) s.push((await measureProcess(cmd, args, env)).seconds);
      return median(s);
    };
    const skVersion = await sample('skopeo', ['--version'], process.env);
    const skCopyS = await sample('skopeo', skCopy, process.env);
    rows.push(['skopeo', '', skVersion, skCopyS]);
    for (const rt of runtimes()) {
      for (const cached of [false, true]) {
        const env: NodeJS.ProcessEnv = {
          ...process.env,
          ...(cached ? { NODE_COMPILE_CACHE: cache } : { NODE_DISABLE_COMPILE_CACHE: '1' }),
        };
        const version = await sample(rt.node, [AIRLOCK_BIN, '--version'], env);
        const copy = await sample(rt.node, [AIRLOCK_BIN, 'copy', ...copyArgs], env);
        const bare = await sample(rt.node, ['-e', '0'], env);
        rows.push([`airlock on ${rt.name}`, cached ? 'on' : 'off', version, copy, `node -e 0: ${bare.toFixed(3)} s`]);
      }
    }
    table(
      `CLI start-up (median of ${RUNS} after one warm-up run; the copy finds every blob present)`,
      ['command', 'compile cache', '--version s', 'copy s', 'note'],
      rows,
    );
    console.log('Node 20 has no compile cache: enableCompileCache() is absent there and airlock starts as before.');
  } finally {
    await Promise.all([a.stop(), b.stop()]);
    rmSync(cache, { recursive: true, force: true });
  }
}
