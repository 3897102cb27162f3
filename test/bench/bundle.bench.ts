import { copyFileSync, readdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPipeline, Pipeline } from '../support/pipeline';
import { startRegistry } from '../support/registry';
import { pushRandomImage } from '../support/images';
import { GpgHome } from '../support/gpg';
import { processSched } from './cpu-shares';
import { reclaim, settleMemory, since } from './page-cache';
import { AIRLOCK, measureProcess, median, table } from './harness';
import { nameLowQa } from '../support/air-gap';

const SIZES = (process.env.BENCH_BUNDLE_GIB ?? '1').split(',').map(Number);
const INSPECT_RUNS = Math.max(1, Number(process.env.BENCH_INSPECT_RUNS ?? 5));

/**
 * Export of an image to an encrypted bundle (format 2) and its import on the far side,
 * beside skopeo + gpg doing the same: `skopeo copy docker:// oci-archive:` then
 * `gpg --encrypt --compress-algo none`, and `gpg -d` then `skopeo copy
 * oci-archive: docker://`. MB/s and peak RSS of each process.
 */
export async function bundleBench(): Promise<void> {
  for (const gib of SIZES) await one(gib);
}

async function one(gib: number): Promise<void> {
  const prod = await startRegistry();
  const work = mkdtempSync(join(tmpdir(), 'airlock-bundle-bench-'));
  const gpg = new GpgHome();
  let low: Pipeline | undefined;
  let high: Pipeline | undefined;
  try {
    high = await startPipeline(
      [
        { name: 'qa', withKey: false },
        {
          name: 'prod',
          from: [{ stage: 'qa', trustedKeys: ['keys/qa-sender.pub'], mapping: [{ from: 'QAHOST/team/*', to: '{prod}/team/*' }] }],
        },
      ],
      {
        registries: { prod },
        worker: false,
        extra: () => ({
          channels: [{ name: 'qa-to-prod', from: 'qa', to: 'prod', encrypt: true, trustedSenders: ['keys/qa-sender.pub'] }],
        }),
      },
    );
    const h = high;
    low = await startPipeline(
      [
        { name: 'qa' },
        {
          name: 'prod',
          withKey: false,
          transport: 'bundle',
          from: [{ stage: 'qa', mapping: [{ from: '{qa}/team/*', to: '{prod}/team/*' }] }],
          approvals: { required: 1 },
        },
      ],
      {
        registries: { prod },
        extra: () => ({
          channels: [
            {
              name: 'qa-to-prod',
              from: 'qa',
              to: 'prod',
              encrypt: true,
              recipients: [join(h.dir, 'keys', 'prod.pub')],
              volumeSizeMiB: 4096,
            },
          ],
        }),
      },
    );
    copyFileSync(join(low.dir, 'keys', 'qa.pub'), join(high.dir, 'keys', 'qa-sender.pub'));
    nameLowQa(high, low.registries.qa.host);

    console.log(`\npreparing a ${gib} GiB image in QA...`);
    const qa = low.registries.qa;
    const layers = Math.max(1, gib * 8);
    const img = await pushRandomImage({ url: qa.url, host: qa.host }, 'team/big', '1', { layers: Array(layers).fill(128 << 20) });
    await low.signInStage('qa', 'team/big', img.digest, img.reference);
    const bytes = img.layers.reduce((a, l) => a + l.size, 0);
    const r = await low.call('POST', '/api/v1/promotions', low.tokens.alice, { image: img.reference, from: 'qa', to: 'prod' });
    await low.call('POST', `/api/v1/promotions/${r.body.id}/approve`, low.tokens.bob, {});
    await low.waitFor(r.body.id, low.tokens.alice, ['exporting'], 120_000);

    const out = join(work, 'bundle');
    const env = { ...process.env };
    const qaCpu = () => (qa.pid === undefined ? NaN : (processSched(qa.pid)?.all.cpu ?? NaN));
    let settled = await settleMemory();
    let qaBefore = qaCpu();
    const ex = await measureProcess(
      process.execPath,
      [...AIRLOCK, 'bundle', 'export', '--channel', 'qa-to-prod', '--out', out, '--config', low.config.path],
      env,
    );
    const exQaCpu = qaCpu() - qaBefore;
    const files = readdirSync(out)
      .filter((f) => f.endsWith('.zip'))
      .map((f) => join(out, f));
    const bundleBytes = files.reduce((a, f) => a + statSync(f).size, 0);
    // inspect reads the central directories and the index only; a run lasts about a second, so several, and their median
    const inspectRuns: { seconds: number; peakRssMiB: number }[] = [];
    for (let i = 0; i < INSPECT_RUNS; i++)
      inspectRuns.push(
        await measureProcess(process.execPath, [...AIRLOCK, 'bundle', 'inspect', ...files, '--config', high.config.path], env),
      );
    const inspectSeconds = inspectRuns.map((x) => x.seconds).sort((x, y) => x - y);
    const registryCpu = () => (prod.pid === undefined ? NaN : (processSched(prod.pid)?.all.cpu ?? NaN));
    settled = (await settleMemory()) && settled;
    let before = registryCpu();
    let reclaimedBefore = reclaim();
    const im = await measureProcess(
      process.execPath,
      [...AIRLOCK, 'bundle', 'import', ...files, '--config', high.config.path, '--receipt-dir', work],
      env,
    );
    const imRegistryCpu = registryCpu() - before;
    const imReclaimed = since(reclaimedBefore);

    // skopeo + gpg: the same image, to an encrypted archive and back into a registry
    await gpg.ok(['--import', join(high.dir, 'keys', 'prod.pub')]);
    await gpg.ok(['--passphrase', high.config.env.AIRLOCK_TEST_PROD_PASSPHRASE, '--import', join(high.dir, 'keys', 'prod.key')]);
    const fpr = high.config.fingerprints.prod;
    const archive = join(work, 'image.tar');
    settled = (await settleMemory()) && settled;
    qaBefore = qaCpu();
    const s1 = await measureProcess('skopeo', [
      'copy',
      '-q',
      '--src-tls-verify=false',
      `docker://${img.reference}`,
      `oci-archive:${archive}`,
    ]);
    const g1 = await measureProcess(
      'gpg',
      [
        '--batch',
        '--yes',
        '--trust-model',
        'always',
        '--compress-algo',
        'none',
        '--recipient',
        fpr,
        '--output',
        `${archive}.gpg`,
        '--encrypt',
        archive,
      ],
      gpg.env,
    );
    const s1QaCpu = qaCpu() - qaBefore;
    rmSync(archive);
    settled = (await settleMemory()) && settled;
    const g2 = await measureProcess(
      'gpg',
      [
        '--batch',
        '--yes',
        '--pinentry-mode',
        'loopback',
        '--passphrase',
        high.config.env.AIRLOCK_TEST_PROD_PASSPHRASE,
        '--output',
        archive,
        '--decrypt',
        `${archive}.gpg`,
      ],
      gpg.env,
    );
    before = registryCpu();
    reclaimedBefore = reclaim();
    const s2 = await measureProcess('skopeo', [
      'copy',
      '-q',
      '--dest-tls-verify=false',
      `oci-archive:${archive}`,
      `docker://${prod.host}/skopeo/big:1`,
    ]);
    const s2RegistryCpu = registryCpu() - before;
    const s2Reclaimed = since(reclaimedBefore);
    const mbps = (s: number) => (bytes / 1e6 / s).toFixed(0);
    const skExport = s1.seconds + g1.seconds;
    const skImport = g2.seconds + s2.seconds;
    table(
      `bundle: ${(bytes / 2 ** 30).toFixed(2)} GiB image, encrypted (bundle ${(bundleBytes / 2 ** 30).toFixed(2)} GiB)`,
      ['', 'airlock s', 'MB/s', 'peak RSS MiB', 'skopeo+gpg s', 'MB/s', 'speed ratio'],
      [
        [
          'export',
          ex.seconds,
          mbps(ex.seconds),
          ex.peakRssMiB.toFixed(0),
          `${skExport.toFixed(2)} (${s1.seconds.toFixed(1)} + ${g1.seconds.toFixed(1)})`,
          mbps(skExport),
          skExport / ex.seconds,
        ],
        [
          'import',
          im.seconds,
          mbps(im.seconds),
          im.peakRssMiB.toFixed(0),
          `${skImport.toFixed(2)} (${g2.seconds.toFixed(1)} + ${s2.seconds.toFixed(1)})`,
          mbps(skImport),
          skImport / im.seconds,
        ],
      ],
    );
    console.log(
      `bundle inspect: ${median(inspectSeconds).toFixed(2)} s, median of ${INSPECT_RUNS} (${inspectSeconds[0].toFixed(2)}-${inspectSeconds[inspectSeconds.length - 1].toFixed(2)}; peak RSS ${Math.max(...inspectRuns.map((x) => x.peakRssMiB)).toFixed(0)} MiB), ${files.length} volume(s)`,
    );
    console.log(
      'airlock import also checks every volume, the signature and every entry, verifies and re-signs, and records it; skopeo+gpg does the transfer only.',
    );
    console.log(
      settled
        ? 'each export and import (airlock, skopeo+gpg) started with the page cache dropped and its memory given back to the host: the same state for both'
        : 'the page cache could not be dropped (not root): whichever step runs later finds the memory filled by the earlier ones, and the ratios depend on the order',
    );
    console.log(
      `export CPU (all threads): airlock ${ex.cpuSeconds.toFixed(1)} s + the QA docker-registry serving it ${exQaCpu.toFixed(1)} s; skopeo copy ${s1.cpuSeconds.toFixed(1)} s + registry ${s1QaCpu.toFixed(1)} s, gpg ${g1.cpuSeconds.toFixed(1)} s`,
    );
    // on two cores an import takes at least half the CPU it and the receiving registry spend
    console.log(
      `import CPU (all threads): airlock ${im.cpuSeconds.toFixed(1)} s + the receiving docker-registry ${imRegistryCpu.toFixed(1)} s, at least ${((im.cpuSeconds + imRegistryCpu) / 2).toFixed(1)} s on 2 cores; skopeo copy ${s2.cpuSeconds.toFixed(1)} s + registry ${s2RegistryCpu.toFixed(1)} s, gpg ${g2.cpuSeconds.toFixed(1)} s; page cache reclaimed meanwhile ${imReclaimed.gib.toFixed(1)} / ${s2Reclaimed.gib.toFixed(1)} GiB, kswapd CPU ${imReclaimed.kswapdCpu.toFixed(1)} / ${s2Reclaimed.kswapdCpu.toFixed(1)} s`,
    );
    if (gib === SIZES[0]) {
      // a second image of the same size: its import killed (SIGKILL) once half its blobs are in the registry, then run again
      const img2 = await pushRandomImage({ url: qa.url, host: qa.host }, 'team/big2', '1', { layers: Array(layers).fill(128 << 20) });
      await low.signInStage('qa', 'team/big2', img2.digest, img2.reference);
      const r2 = await low.call('POST', '/api/v1/promotions', low.tokens.alice, { image: img2.reference, from: 'qa', to: 'prod' });
      await low.call('POST', `/api/v1/promotions/${r2.body.id}/approve`, low.tokens.bob, {});
      await low.waitFor(r2.body.id, low.tokens.alice, ['exporting'], 120_000);
      const out2 = join(work, 'bundle2');
      await measureProcess(
        process.execPath,
        [...AIRLOCK, 'bundle', 'export', '--channel', 'qa-to-prod', '--out', out2, '--config', low.config.path],
        env,
      );
      const files2 = readdirSync(out2)
        .filter((f) => f.endsWith('.zip'))
        .map((f) => join(out2, f));
      await settleMemory();
      const t0 = Date.now();
      const killed = await measureProcess(
        process.execPath,
        [...AIRLOCK, 'bundle', 'import', ...files2, '--config', high.config.path, '--receipt-dir', work],
        {
          ...env,
          AIRLOCK_FAULT_AT: 'import:mid-push',
        },
      ).then(
        () => 'finished (the fault point was not reached)',
        (e: Error) =>
          / was killed by SIGKILL: /.test(e.message)
            ? `killed after ${((Date.now() - t0) / 1000).toFixed(2)} s`
            : `failed instead of being killed: ${e.message.slice(-300)}`,
      );
      await settleMemory();
      const again = await measureProcess(
        process.execPath,
        [...AIRLOCK, 'bundle', 'import', ...files2, '--config', high.config.path, '--receipt-dir', work],
        env,
      );
      console.log(
        `import killed halfway (${killed}), then run again: ${again.seconds.toFixed(2)} s, ${(again.seconds / im.seconds).toFixed(2)}x a full import (peak RSS ${again.peakRssMiB.toFixed(0)} MiB)`,
      );
      // the run again starts, opens and checks the index (what inspect does) before it may push the half that is left
      const startUp = median(inspectSeconds);
      console.log(
        `floor of that run: half the pushing plus a start with the index checked again (inspect: ${startUp.toFixed(2)} s), ${(0.5 + startUp / (2 * im.seconds)).toFixed(2)}x a full import; docker-registry cancels an upload cut in the middle, so the blob in flight at the kill is pushed again from its start`,
      );
    }
  } finally {
    gpg.close();
    await low?.stop();
    await high?.stop();
    await prod.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
