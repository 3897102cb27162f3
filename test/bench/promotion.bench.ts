import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { Sensitive } from '@airlock/common';
import { openDatabase } from '@airlock/database';
import { RegistrySigstoreStore, signatureLayer, sigstoreSignatureTag } from '@airlock/promotion';
import { generateSigstoreKeyPair, readSigstorePrivateKey, signSigstore } from '@airlock/signing';
import { RegistryClient, attachedManifest, putSmallBlob, sha256Digest } from '@airlock/oci';
import { startPipeline } from '../support/pipeline';
import { startRegistry } from '../support/registry';
import { pushRandomImage } from '../support/images';
import { GpgHome } from '../support/gpg';
import { CpuShares, processSched } from './cpu-shares';
import { measureProcess, median, percentile, table } from './harness';

const N = Number(process.env.BENCH_PROMOTIONS ?? 50);
/** Rounds of the dialect comparison, each a simple-signing burst and a sigstore one (in alternating order). */
const DIALECT_ROUNDS = Math.max(1, Number(process.env.BENCH_DIALECT_ROUNDS ?? 3));
/** The paced run: this many promotions, one approved every PACE_MS (a steady stream well under the burst's throughput). */
const PACED = Number(process.env.BENCH_PACED_PROMOTIONS ?? 20);
const PACE_MS = Number(process.env.BENCH_PACE_MS ?? 250);

/**
 * N promotions of small signed images through the API (request + approve) on
 * one `airlock serve` process (API + worker, concurrency 4), beside a shell-style loop of
 * `skopeo copy --sign-by` per image doing the copy and the signing.
 */
export async function promotionBench(): Promise<void> {
  const p = await startPipeline(
    [
      { name: 'dev' },
      { name: 'qa', from: [{ stage: 'dev', mapping: [{ from: '{dev}/team/*', to: '{qa}/team/*' }] }], approvals: { required: 1 } },
    ],
    { worker: false },
  );
  const gpg = new GpgHome();
  try {
    const dev = p.registries.dev;
    const imgs = [];
    for (let i = 0; i < N + PACED; i++) {
      const img = await pushRandomImage({ url: dev.url, host: dev.host }, `team/svc${i}`, '1', { layers: [256 << 10, 32 << 10] });
      await p.signInStage('dev', `team/svc${i}`, img.digest, img.reference);
      imgs.push(img);
    }
    // one `airlock serve` (API and worker, concurrency 4) in its own process; this one only plays the clients
    const serve = await p.apiAsProcess('serve');
    const t0 = Date.now();
    const ids: string[] = [];
    await Promise.all(
      imgs.slice(0, N).map(async (img) => {
        const r = await p.call('POST', '/api/v1/promotions', p.tokens.alice, { image: img.reference, from: 'dev', to: 'qa' });
        await p.call('POST', `/api/v1/promotions/${r.body.id}/approve`, p.tokens.bob, {});
        ids.push(r.body.id);
      }),
    );
    for (const id of ids) await p.waitFor(id, p.tokens.alice, ['completed', 'failed'], 300_000);
    // then a steady stream: each promotion requested and approved PACE_MS after the one before, none waiting for another to finish
    const pacedIds: string[] = [];
    const paced = imgs.slice(N).map(async (img, i) => {
      await new Promise((r) => setTimeout(r, i * PACE_MS));
      const r = await p.call('POST', '/api/v1/promotions', p.tokens.alice, { image: img.reference, from: 'dev', to: 'qa' });
      await p.call('POST', `/api/v1/promotions/${r.body.id}/approve`, p.tokens.bob, {});
      pacedIds.push(r.body.id);
    });
    await Promise.all(paced);
    for (const id of pacedIds) await p.waitFor(id, p.tokens.alice, ['completed', 'failed'], 300_000);
    await serve.stop();
    const db = openDatabase(join(p.dir, 'airlock.db'), { readonly: true });
    // each promotion: its outcome, its last approval, and its first step (when a worker took it)
    const all = db
      .prepare(
        'SELECT p.id, p.state, p.finished_at, (SELECT MAX(created_at) FROM approvals a WHERE a.promotion_id = p.id) AS approved_at, (SELECT MIN(started_at) FROM steps s WHERE s.promotion_id = p.id) AS started_at FROM promotions p',
      )
      .all() as { id: string; state: string; finished_at: string; approved_at: string; started_at: string }[];
    const burstIds = new Set(ids);
    const rows = all.filter((r) => burstIds.has(r.id));
    const pacedRows = all.filter((r) => !burstIds.has(r.id));
    const pacedLat = pacedRows.map((r) => (Date.parse(r.finished_at) - Date.parse(r.approved_at)) / 1000);
    const lat = rows.map((r) => (Date.parse(r.finished_at) - Date.parse(r.approved_at)) / 1000);
    // from the first request to the last completion as recorded (the polling above may notice it up to 100 ms later)
    const wall = (Math.max(...rows.map((r) => Date.parse(r.finished_at))) - t0) / 1000;
    const failed = all.filter((r) => r.state !== 'completed').length;
    // where the time goes: waiting for a worker, each step, and recording the completion
    const steps = db.prepare('SELECT promotion_id, name, started_at, finished_at FROM steps WHERE finished_at IS NOT NULL').all() as {
      promotion_id: string;
      name: string;
      started_at: string;
      finished_at: string;
    }[];
    const stepMs = (name: string) =>
      percentile(
        steps.filter((x) => x.name === name).map((x) => Date.parse(x.finished_at) - Date.parse(x.started_at)),
        50,
      );
    const waitMs = rows.map((w) => Date.parse(w.started_at) - Date.parse(w.approved_at));

    db.close();

    // skopeo loop: copy + sign per image, one process each
    const fpr = await gpg.generate('bench signer <b@example.test>');
    const rd = join(gpg.dir, 'registries.d');
    mkdirSync(rd, { recursive: true });
    writeFileSync(join(rd, 'qa.yaml'), `docker:\n  ${p.registries.qa.host}:\n    lookaside-staging: file://${join(gpg.dir, 'sigstore')}\n`);
    let sk = 0;
    for (const [i, img] of imgs.slice(0, N).entries()) {
      sk += (
        await measureProcess(
          'skopeo',
          [
            '--registries.d',
            rd,
            'copy',
            '-q',
            '--src-tls-verify=false',
            '--dest-tls-verify=false',
            '--sign-by',
            fpr,
            `docker://${img.reference}`,
            `docker://${p.registries.qa.host}/skopeo/svc${i}:1`,
          ],
          gpg.env,
        )
      ).seconds;
    }
    const perMin = (N / wall) * 60;
    const skPerMin = (N / sk) * 60;
    table(
      `promotions: ${N} small signed images, request + approve through the API, worker concurrency 4`,
      ['', 'airlock', 'skopeo loop', 'ratio'],
      [
        ['promotions per minute', perMin, skPerMin, perMin / skPerMin],
        [
          `burst (all ${N} approved at once): p50 / p95 approval -> completed (s)`,
          `${percentile(lat, 50).toFixed(2)} / ${percentile(lat, 95).toFixed(2)}`,
          '',
          '',
        ],
        [
          `steady (${PACED}, one approved every ${PACE_MS} ms): p50 / p95 (s)`,
          `${percentile(pacedLat, 50).toFixed(2)} / ${percentile(pacedLat, 95).toFixed(2)}`,
          '',
          '',
        ],
        ['failed', failed, '', ''],
        ['burst: p50 / p95 wait for a worker (ms)', `${percentile(waitMs, 50)} / ${percentile(waitMs, 95)}`, '', ''],
        ['p50 verify / copy / sign / publish (ms)', ['verify', 'copy', 'sign', 'publish'].map(stepMs).join(' / '), '', ''],
      ],
    );
    console.log(
      'the skopeo loop copies and signs only; airlock also verifies the dev signatures, records every step and serves the signatures.',
    );
    console.log(
      `in the burst, the last promotions wait for the first ones (${N} at ${perMin.toFixed(0)} per minute take ${wall.toFixed(1)} s); the steady stream shows the time of one promotion.`,
    );
    // the dialects side by side: the same burst, alternating, so that both meet the same state of the machine
    const rounds: { simple: Burst; sigstore: Burst }[] = [];
    for (let i = 0; i < DIALECT_ROUNDS; i++) {
      const order: Dialect[] = i % 2 ? ['sigstore', 'simple'] : ['simple', 'sigstore'];
      const r: Partial<Record<Dialect, Burst>> = {};
      for (const d of order) r[d] = await dialectBurst(d);
      rounds.push(r as { simple: Burst; sigstore: Burst });
    }
    const ratios = rounds.map((r) => r.simple.perMin / r.sigstore.perMin);
    table(
      `promotions in the sigstore dialect: ${N} small images CI signed with cosign (tag form), QA verifying them and signing with its sigstore key, beside the same burst in simple signing (OpenPGP keys, lookaside), ${DIALECT_ROUNDS} rounds alternating`,
      [
        'round',
        'simple: per minute, p50 verify / copy / sign / publish (ms)',
        'sigstore: the same',
        'time per promotion, sigstore / simple',
      ],
      [
        ...rounds.map((r, i) => [
          String(i + 1),
          `${r.simple.perMin.toFixed(0)}, ${r.simple.steps}`,
          `${r.sigstore.perMin.toFixed(0)}, ${r.sigstore.steps}`,
          ratios[i],
        ]),
        ['median', '', '', median(ratios)],
        ['failed', rounds.reduce((a, r) => a + r.simple.failed, 0), rounds.reduce((a, r) => a + r.sigstore.failed, 0), ''],
      ],
    );
    const cpuOf = (d: Dialect, name: string) => median(rounds.map((r) => r[d].cpuMs[name] ?? NaN));
    const total = (d: Dialect) => median(rounds.map((r) => BURST_PROCESSES.reduce((a, n) => a + (r[d].cpuMs[n] ?? 0), 0)));
    table(
      'CPU per promotion in those bursts, by process (all threads, median of the rounds; the burst runs on every core, so time follows CPU)',
      ['process', 'simple (ms)', 'sigstore (ms)', 'sigstore - simple (ms)', 'ratio'],
      [
        ...BURST_PROCESSES.map((n) => [
          n,
          cpuOf('simple', n),
          cpuOf('sigstore', n),
          cpuOf('sigstore', n) - cpuOf('simple', n),
          cpuOf('sigstore', n) / cpuOf('simple', n),
        ]),
        ['all four', total('simple'), total('sigstore'), total('sigstore') - total('simple'), total('sigstore') / total('simple')],
      ],
    );
    const tag = await tagFormCpu(N);
    const simpleTotal = total('simple');
    const least = tag.minimal + tag.read;
    const leastCarrying = tag.carrying + tag.read;
    const ratio = (ms: number) => ((simpleTotal + ms) / simpleTotal).toFixed(2);
    console.log(
      `the registry's CPU per tag-form signature, each in a repository of its own (as each promotion's is): written as cosign writes it (payload and config blobs, manifest; nothing read) ${tag.minimal.toFixed(1)} ms, the same with CI's signature carried as a second layer (one more payload blob) ${tag.carrying.toFixed(1)} ms, as airlock writes it (read first, a settle, a read after) ${tag.store.toFixed(1)} ms, read back as the verify step reads the source's (manifest, payload) ${tag.read.toFixed(1)} ms. ` +
        `The least a sigstore promotion adds, one read and one write, is ${least.toFixed(1)} ms on a simple-signing promotion's ${simpleTotal.toFixed(0)} ms: ${ratio(least)}x; with CI's signature carried, as stages do by default, ${leastCarrying.toFixed(1)} ms: ${ratio(leastCarrying)}x; before airlock's own work.`,
    );
    console.log('goal: a sigstore promotion costs at most 1.2x a simple-signing one (time per promotion, the median of the rounds).');
  } finally {
    gpg.close();
    await p.stop();
  }
}

type Dialect = 'simple' | 'sigstore';
interface Burst {
  perMin: number;
  steps: string;
  failed: number;
  /** CPU milliseconds per promotion of each process (all its threads), during the burst. */
  cpuMs: Record<string, number>;
}

/** The processes a dialect burst runs on, as the CPU table names them. */
const BURST_PROCESSES = ['airlock serve', 'dev registry', 'QA registry', 'redis-server'];

/**
 * One burst of N promotions from dev to QA in one dialect, on a pipeline of
 * its own: `simple`, dev's images signed with dev's OpenPGP key in its
 * lookaside and QA signing with its own; `sigstore`, dev's images signed in
 * the tag form with dev's sigstore key (as CI's cosign does), QA pinning that
 * key and signing with its own in the registry.
 */
async function dialectBurst(dialect: Dialect): Promise<Burst> {
  const sig = dialect === 'sigstore';
  const p = await startPipeline(
    [
      { name: 'dev', withKey: !sig, sigstore: sig },
      {
        name: 'qa',
        withKey: !sig,
        sigstore: sig,
        from: [
          {
            stage: 'dev',
            ...(sig ? { trustedKeys: ['keys/dev-sigstore.pub'] } : {}),
            mapping: [{ from: '{dev}/team/*', to: '{qa}/team/*' }],
          },
        ],
        approvals: { required: 1 },
      },
    ],
    { worker: false },
  );
  try {
    const dev = p.registries.dev;
    const client = new RegistryClient(dev.host, { insecure: true });
    const store = new RegistrySigstoreStore(client);
    const key = sig
      ? readSigstorePrivateKey(
          readFileSync(join(p.dir, 'keys', 'dev-sigstore.key')),
          new Sensitive(p.config.env.AIRLOCK_TEST_DEV_SIGSTORE_PASSPHRASE),
        )
      : undefined;
    const imgs = [];
    for (let i = 0; i < N; i++) {
      const img = await pushRandomImage({ url: dev.url, host: dev.host }, `team/svc${i}`, '1', { layers: [256 << 10, 32 << 10] });
      if (key) await store.add(`team/svc${i}`, img.digest, signSigstore(img.digest, `${dev.host}/team/svc${i}`, key));
      else await p.signInStage('dev', `team/svc${i}`, img.digest, img.reference);
      imgs.push(img);
    }
    await client.close();
    const serve = await p.apiAsProcess('serve');
    const pids = [serve.child.pid, dev.pid, p.registries.qa.pid, p.redis.process.child.pid];
    const cpu = new CpuShares(Object.fromEntries(BURST_PROCESSES.map((name, i) => [name, pids[i] === undefined ? [] : [pids[i]]])));
    cpu.begin();
    const t0 = Date.now();
    const ids: string[] = [];
    await Promise.all(
      imgs.map(async (img) => {
        const r = await p.call('POST', '/api/v1/promotions', p.tokens.alice, { image: img.reference, from: 'dev', to: 'qa' });
        await p.call('POST', `/api/v1/promotions/${r.body.id}/approve`, p.tokens.bob, {});
        ids.push(r.body.id);
      }),
    );
    for (const id of ids) await p.waitFor(id, p.tokens.alice, ['completed', 'failed'], 300_000);
    const cpuMs = Object.fromEntries(Object.entries(cpu.cpuSeconds()).map(([k, v]) => [k, (v * 1000) / N]));
    await serve.stop();
    const db = openDatabase(join(p.dir, 'airlock.db'), { readonly: true });
    const rows = db.prepare('SELECT state, finished_at FROM promotions').all() as { state: string; finished_at: string }[];
    const steps = db.prepare('SELECT name, started_at, finished_at FROM steps WHERE finished_at IS NOT NULL').all() as {
      name: string;
      started_at: string;
      finished_at: string;
    }[];
    db.close();
    const wall = (Math.max(...rows.map((r) => Date.parse(r.finished_at))) - t0) / 1000;
    const stepMs = (name: string) =>
      percentile(
        steps.filter((x) => x.name === name).map((x) => Date.parse(x.finished_at) - Date.parse(x.started_at)),
        50,
      );
    return {
      perMin: (N / wall) * 60,
      steps: ['verify', 'copy', 'sign', 'publish'].map(stepMs).join(' / '),
      failed: rows.filter((r) => r.state !== 'completed').length,
      cpuMs,
    };
  } finally {
    await p.stop();
  }
}

/**
 * The registry's CPU per signature in the tag form, each in a repository of
 * its own that holds a blob already, four at a time as the worker works:
 * `minimal`, writing the payload and config blobs and the manifest (what
 * cosign writes, nothing read); `carrying`, the same with CI's signature
 * as a first layer (one more payload blob); `store`, writing through
 * RegistrySigstoreStore as a promotion does; `read`, reading one back (its
 * manifest and payload, as the verify step reads the source's). At least
 * 200 of each, whatever the burst's size.
 */
async function tagFormCpu(burst: number): Promise<{ minimal: number; carrying: number; store: number; read: number }> {
  const n = Math.max(burst, 200);
  const reg = await startRegistry();
  const client = new RegistryClient(reg.host, { insecure: true });
  const store = new RegistrySigstoreStore(client);
  const pass = new Sensitive('bench');
  const key = readSigstorePrivateKey(generateSigstoreKeyPair(pass).privatePem, pass);
  const cpu = () => processSched(reg.pid!)?.all.cpu ?? NaN;
  const written: { repo: string; digest: string }[] = [];
  type How = 'minimal' | 'carrying' | 'store';
  const write = async (repo: string, how: How) => {
    const digest = sha256Digest(randomBytes(32));
    const s = signSigstore(digest, `${reg.host}/${repo}`, key);
    written.push({ repo, digest });
    if (how === 'store') return void (await store.add(repo, digest, s));
    // the bytes airlock writes, without its read before and after; carrying: with CI's signature (its payload names dev's reference) as the first layer
    const signatures = how === 'carrying' ? [signSigstore(digest, `dev.example/${repo}`, key), s] : [s];
    const layers = signatures.map((x) => signatureLayer(x));
    const { config, manifest } = attachedManifest(layers);
    await Promise.all([
      ...signatures.map((x, i) => putSmallBlob(client, repo, layers[i].digest, x.payload)),
      putSmallBlob(client, repo, config.digest, config.bytes),
    ]);
    await client.putManifest(repo, sigstoreSignatureTag(digest), manifest);
  };
  /** Registry CPU milliseconds per item of `f` over `items`, four at a time. */
  const perItem = async <T>(items: T[], f: (x: T) => Promise<unknown>) => {
    const queue = [...items];
    const t = cpu();
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let x = queue.shift(); x !== undefined; x = queue.shift()) await f(x);
      }),
    );
    return ((cpu() - t) * 1000) / items.length;
  };
  const perWrite = async (how: How) => {
    const repos = Array.from({ length: n }, (_, i) => `floor/${how}${i}`);
    // each repository made first, as the copy of the image makes it before its signature is written
    for (const r of repos) {
      const b = randomBytes(64);
      await putSmallBlob(client, r, sha256Digest(b), b);
    }
    return perItem(repos, (r) => write(r, how));
  };
  try {
    await write('floor/warm-up', 'minimal');
    const minimal = await perWrite('minimal');
    const carrying = await perWrite('carrying');
    const store = await perWrite('store');
    const read = await perItem(written.slice(1, n + 1), async ({ repo, digest }) => {
      if ((await new RegistrySigstoreStore(client).listTagged(repo, digest)).length !== 1)
        throw new Error(`no signature read back for ${repo}`);
    });
    return { minimal, carrying, store, read };
  } finally {
    await client.close();
    await reg.stop();
  }
}
