import { mkdirSync, mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import type { INestApplicationContext } from '@nestjs/common';
import { Sensitive } from '@airlock/common';
import { loadConfig } from '@airlock/common/config';
import { FileLookasideStore, readPrivateKey, sign } from '@airlock/signing';
import { createApi, AirlockApi } from '../../apps/api/src/main';
import { createWorker } from '../../apps/worker/src/main';
import { startRegistry, TestRegistry } from './registry';
import { startRedis, TestRedis } from './redis';
import { writeConfig, StageSpec } from './airlock-config';
import { freePort } from './ports';
import { AirlockProcess } from './airlock-process';

/** A running airlock (API + worker in this process) over real Redis and registries, for end-to-end tests. */
export interface Pipeline {
  dir: string;
  url: string;
  redis: TestRedis;
  /** Restarts Redis on the same port: with its data (AOF) or wiped. */
  restartRedis(wipe?: boolean): Promise<void>;
  registries: Record<string, TestRegistry>;
  api: AirlockApi;
  worker?: INestApplicationContext;
  config: Awaited<ReturnType<typeof writeConfig>>;
  tokens: Record<string, string>;
  call(
    method: string,
    path: string,
    token?: string,
    body?: unknown,
  ): Promise<{ status: number; body: any; headers: Record<string, unknown> }>;
  signInStage(stage: string, repository: string, digest: string, identity: string, keyStage?: string): Promise<void>;
  waitFor(id: string, token: string, states: string[], timeoutMs?: number): Promise<any>;
  startWorker(): Promise<void>;
  /** Restarts the API process part on a re-read configuration (same port, same database). */
  restartApi(): Promise<void>;
  /** Moves the API out of this process into `airlock api` (or `airlock serve`: API and worker) on the same port and database, as deployed; stop() stops it. */
  apiAsProcess(command?: 'api' | 'serve'): Promise<AirlockProcess>;
  stop(): Promise<void>;
}

/** Starts Redis, one registry per stage, and airlock with tokens for alice (requester), bob and carol (approvers), dave (auditor), root (admin), olga (operator). */
export async function startPipeline(
  stages: (Omit<StageSpec, 'registry'> & { registry?: string })[],
  o: {
    worker?: boolean;
    aof?: boolean;
    extra?: (hosts: Record<string, string>) => Record<string, unknown>;
    registries?: Record<string, TestRegistry>;
    redis?: TestRedis;
  } = {},
): Promise<Pipeline> {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-pipe-'));
  // a Redis another pipeline started may be shared (each keeps its own key prefix); it is then that pipeline's to stop
  const redis = o.redis ?? (await startRedis({ appendonly: o.aof }));
  const registries: Record<string, TestRegistry> = {};
  for (const s of stages) registries[s.name] = o.registries?.[s.name] ?? (await startRegistry());
  const port = await freePort();
  const specs = stages.map((s) => ({ ...s, registry: registries[s.name].host })) as StageSpec[];
  // mappings may name stage hosts symbolically as {dev}/team/*
  for (const s of specs)
    for (const f of s.from ?? [])
      for (const m of f.mapping)
        for (const k of ['from', 'to'] as const) m[k] = m[k].replace(/\{([a-z-]+)\}/g, (_x, n) => registries[n].host);
  const hosts = Object.fromEntries(Object.entries(registries).map(([k, r]) => [k, r.host]));
  const extra = o.extra?.(hosts) ?? {};
  const config = await writeConfig(dir, specs, {
    redis: { url: redis.url, prefix: `airlock-test-${Math.random().toString(36).slice(2, 10)}` },
    database: 'airlock.db',
    worker: { concurrency: 4 },
    ...extra,
    server: { ...(extra.server ?? {}), host: '127.0.0.1', port },
  });
  const loaded = loadConfig(config.path);
  const runtimeOpts = { reconcileEveryMs: 500, jobRetry: { attempts: 2, backoffMs: 200 } };
  const api = await createApi(loaded, { logger: false, runtime: runtimeOpts });
  await api.listen(port, '127.0.0.1');
  const tokens: Record<string, string> = {};
  const people: [string, string[]][] = [
    ['alice', ['requester']],
    ['bob', ['approver']],
    ['carol', ['approver']],
    ['dave', ['auditor']],
    ['root', ['admin']],
    ['olga', ['operator']],
    ['rita', ['requester', 'approver']],
  ];
  for (const [u, roles] of people) tokens[u] = api.runtime.tokens.create(u, roles, 'test').token;
  const url = `http://127.0.0.1:${port}`;
  let apiProcess: AirlockProcess | undefined;
  const p: Pipeline = {
    dir,
    url,
    redis,
    registries,
    api,
    config,
    tokens,
    async call(method, path, token, body) {
      const headers: Record<string, string> = {};
      if (token) headers.authorization = `Bearer ${token}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const r = await request(`${url}${path}`, {
        method: method as never,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await r.body.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        /* not JSON */
      }
      return { status: r.statusCode, body: parsed, headers: r.headers };
    },
    async signInStage(stage, repository, digest, identity, keyStage = stage) {
      const key = await readPrivateKey(
        readFileSync(join(dir, 'keys', `${keyStage}.key`)),
        new Sensitive(config.env[`AIRLOCK_TEST_${keyStage.toUpperCase()}_PASSPHRASE`]),
      );
      await new FileLookasideStore(join(dir, 'sigstore', stage)).add(repository, digest, await sign(digest, identity, key));
    },
    async waitFor(id, token, states, timeoutMs = 30_000) {
      const end = Date.now() + timeoutMs;
      let last: any;
      while (Date.now() < end) {
        last = (await p.call('GET', `/api/v1/promotions/${id}`, token)).body;
        if (states.includes(last.state)) return last;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`promotion ${id} is ${last?.state} (${JSON.stringify(last?.error)}), not ${states.join('|')}, after ${timeoutMs} ms`);
    },
    async startWorker() {
      p.worker = await createWorker(loaded, { logger: false });
    },
    async restartRedis(wipe = false) {
      const { port, dir: rdir } = p.redis;
      await p.redis.process.stop();
      if (wipe) rmSync(rdir, { recursive: true, force: true });
      mkdirSync(rdir, { recursive: true });
      const again = await startRedis({ appendonly: o.aof, dir: rdir, port });
      p.redis = { ...again, stop: async () => (await again.process.stop(), rmSync(rdir, { recursive: true, force: true })) };
    },
    async restartApi() {
      await p.api.close();
      p.api = await createApi(loadConfig(config.path), { logger: false, runtime: runtimeOpts });
      await p.api.listen(port, '127.0.0.1');
    },
    async apiAsProcess(command = 'api') {
      await p.api.close();
      // BENCH_PROFILE_DIR=/some/dir writes a V8 CPU profile of the API process there when it stops
      const proc = new AirlockProcess(
        command,
        config.path,
        {},
        process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : [],
      );
      apiProcess = proc;
      const end = Date.now() + 30_000;
      for (;;) {
        if (proc.child.exitCode !== null) throw new Error(`airlock api exited: ${proc.output}`);
        try {
          if ((await p.call('GET', '/health')).status === 200) return proc;
        } catch {
          /* not listening yet */
        }
        if (Date.now() > end) throw new Error(`airlock api did not answer in 30 s: ${proc.output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      await p.worker?.close();
      if (apiProcess) await apiProcess.stop();
      else await p.api.close();
      if (!o.redis) await p.redis.stop();
      await Promise.all(
        Object.entries(registries)
          .filter(([k]) => !o.registries?.[k])
          .map(([, r]) => r.stop()),
      );
      rmSync(dir, { recursive: true, force: true });
    },
  };
  if (o.worker !== false) await p.startWorker();
  return p;
}
