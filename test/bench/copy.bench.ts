import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CopyEngine, Registries } from '@airlock/oci';
import { startRegistry } from '../support/registry';
import { pushBlob, pushRandomImage } from '../support/images';
import { AIRLOCK, measureProcess, median, table, timeIt } from './harness';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const LAYER = Number(process.env.BENCH_LAYER_MIB ?? 128) << 20;
const LAYERS = Number(process.env.BENCH_LAYERS ?? 8);

/**
 * airlock copy vs skopeo copy between two local registries, alternating,
 * RUNS each: a cold copy of LAYERS x LAYER random data, a re-copy with
 * every blob present, a copy to a new repository of the same registry, and
 * 20 small images sharing a base layer (one --list run vs 20 skopeo runs).
 */
export async function copyBench(): Promise<void> {
  const [a, b] = await Promise.all([startRegistry(), startRegistry()]);
  const work = mkdtempSync(join(tmpdir(), 'airlock-bench-'));
  try {
    const gib = (LAYER * LAYERS) / 2 ** 30;
    console.log(`\npreparing a ${gib.toFixed(2)} GiB image (${LAYERS} x ${LAYER >> 20} MiB random layers)...`);
    const big = await pushRandomImage({ url: a.url, host: a.host }, 'bench/big', '1', { layers: Array(LAYERS).fill(LAYER) });
    const bytes = big.layers.reduce((s, l) => s + l.size, 0) + big.config.size;
    const sk = ['copy', '--src-tls-verify=false', '--dest-tls-verify=false', '-q'];
    const al = [...AIRLOCK, 'copy', '--src-insecure', '--dest-insecure', '-q'];

    const cold = { airlock: [] as number[], skopeo: [] as number[], rss: [] as number[], skRss: [] as number[] };
    for (let i = 0; i < RUNS; i++) {
      // each cold run gets an empty registry: skopeo's blob-info cache would otherwise mount what an earlier run pushed
      const [rs, ra] = await Promise.all([startRegistry(), startRegistry()]);
      try {
        const s = await measureProcess('skopeo', [...sk, `docker://${big.reference}`, `docker://${rs.host}/bench/cold:1`]);
        cold.skopeo.push(s.seconds);
        cold.skRss.push(s.peakRssMiB);
        const r = await measureProcess(process.execPath, [...al, big.reference, `${ra.host}/bench/cold:1`]);
        cold.airlock.push(r.seconds);
        cold.rss.push(r.peakRssMiB);
      } finally {
        await Promise.all([rs.stop(), ra.stop()]);
      }
    }
    // the re-copy runs need the image in b already
    await measureProcess(process.execPath, [...al, big.reference, `${b.host}/bench/al-cold0:1`]);
    await measureProcess('skopeo', [...sk, `docker://${big.reference}`, `docker://${b.host}/bench/sk-cold0:1`]);
    const re = { airlock: [] as number[], skopeo: [] as number[], engine: [] as number[] };
    const engine = new CopyEngine(new Registries(() => ({ insecure: true })));
    await engine.copyImage(big.reference, `${b.host}/bench/al-cold0:1`); // warm connections
    for (let i = 0; i < RUNS; i++) {
      re.skopeo.push((await measureProcess('skopeo', [...sk, `docker://${big.reference}`, `docker://${b.host}/bench/sk-cold0:1`])).seconds);
      re.airlock.push((await measureProcess(process.execPath, [...al, big.reference, `${b.host}/bench/al-cold0:1`])).seconds);
      re.engine.push(await timeIt(() => engine.copyImage(big.reference, `${b.host}/bench/al-cold0:1`)));
    }
    const mount = { airlock: [] as number[], skopeo: [] as number[], engine: [] as number[] };
    for (let i = 0; i < RUNS; i++) {
      mount.skopeo.push(
        (await measureProcess('skopeo', [...sk, `docker://${big.reference}`, `docker://${a.host}/bench/sk-mount${i}:1`])).seconds,
      );
      mount.airlock.push((await measureProcess(process.execPath, [...al, big.reference, `${a.host}/bench/al-mount${i}:1`])).seconds);
      mount.engine.push(await timeIt(() => engine.copyImage(big.reference, `${a.host}/bench/en-mount${i}:1`)));
    }
    await engine.close();

    // 20 small images that share a base layer
    const base = await pushBlob(
      { url: a.url, host: a.host },
      'bench/base',
      { size: 8 << 20 },
      'application/vnd.docker.image.rootfs.diff.tar.gzip',
    );
    const baseBytes = await (await fetch(`${a.url}/v2/bench/base/blobs/${base.digest}`)).arrayBuffer();
    const small = [];
    for (let i = 0; i < 20; i++)
      small.push(
        await pushRandomImage({ url: a.url, host: a.host }, `bench/small${i}`, '1', { layers: [Buffer.from(baseBytes), 64 << 10] }),
      );
    const batch = { airlock: [] as number[], skopeo: [] as number[] };
    for (let i = 0; i < RUNS; i++) {
      let t = 0;
      for (const [j, img] of small.entries())
        t += (await measureProcess('skopeo', [...sk, `docker://${img.reference}`, `docker://${b.host}/sk${i}/small${j}:1`])).seconds;
      batch.skopeo.push(t);
      const list = join(work, `list${i}`);
      writeFileSync(list, small.map((img, j) => `${img.reference} ${b.host}/al${i}/small${j}:1`).join('\n'));
      batch.airlock.push((await measureProcess(process.execPath, [...al, '--list', list])).seconds);
    }

    const mbps = (s: number) => bytes / 1e6 / s;
    table(
      `copy: ${(bytes / 1e9).toFixed(2)} GB image between two local registries (median of ${RUNS}, alternating)`,
      ['case', 'airlock s', 'skopeo s', 'airlock/skopeo speed', 'note'],
      [
        [
          'cold copy',
          median(cold.airlock),
          median(cold.skopeo),
          median(cold.skopeo) / median(cold.airlock),
          `${mbps(median(cold.airlock)).toFixed(0)} vs ${mbps(median(cold.skopeo)).toFixed(0)} MB/s`,
        ],
        [
          're-copy (all present)',
          median(re.airlock),
          median(re.skopeo),
          median(re.skopeo) / median(re.airlock),
          `engine alone ${median(re.engine).toFixed(3)} s`,
        ],
        [
          'new repo, same registry',
          median(mount.airlock),
          median(mount.skopeo),
          median(mount.skopeo) / median(mount.airlock),
          `engine alone ${median(mount.engine).toFixed(3)} s`,
        ],
        [
          '20 small images, shared base',
          median(batch.airlock),
          median(batch.skopeo),
          median(batch.skopeo) / median(batch.airlock),
          'one --list run vs 20 skopeo runs',
        ],
      ],
    );
    console.log(`peak RSS: airlock ${Math.max(...cold.rss).toFixed(0)} MiB, skopeo ${Math.max(...cold.skRss).toFixed(0)} MiB (cold copy)`);
    console.log(
      `airlock process start-up (node and undici; copy runs without NestJS) is included in every airlock figure; "engine alone" is the same copy inside one process.`,
    );
    // the floor under every airlock figure: node starting and doing nothing, in the same environment (NODE_EXTRA_CA_CERTS, if set, is read at start)
    const bare: number[] = [];
    for (let i = 0; i < 5; i++) bare.push((await measureProcess(process.execPath, ['-e', '0'])).seconds);
    console.log(
      `node itself starts and exits in ${median(bare).toFixed(3)} s here${process.env.NODE_EXTRA_CA_CERTS ? ' (NODE_EXTRA_CA_CERTS is set: node reads and parses that CA file at every start)' : ''}.`,
    );
  } finally {
    await Promise.all([a.stop(), b.stop()]);
    rmSync(work, { recursive: true, force: true });
  }
}
