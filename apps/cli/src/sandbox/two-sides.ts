import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pickPort } from './local-services';
import { SandboxServices, ensureKey, ensureSigstoreKey, stageEntry, startServices, writeSandboxConfig } from './sandbox-env';

/**
 * The queue's key prefix for one side of one sandbox folder. A sandbox whose
 * Redis was stopped under it keeps a worker reconnecting to that port; with
 * the default prefix it took the jobs of the next sandbox started there and
 * verified them with its own keys (SIGNATURE_UNTRUSTED_KEY). Each folder's
 * queue is its own.
 */
export function queuePrefix(sideDir: string): string {
  return `airlock-sandbox-${createHash('sha256').update(resolve(sideDir)).digest('hex').slice(0, 12)}`;
}

/** Preferred ports of a two-sided sandbox (the next free one is taken when one is busy). */
export interface TwoSidePorts {
  dev: number;
  qa: number;
  prod: number;
  lowRedis: number;
  highRedis: number;
  lowApi: number;
  highApi: number;
}

/** Both sides of the gap, set up and their services running; the API processes are the caller's to start. */
export interface TwoSides {
  lowDir: string;
  highDir: string;
  media: string;
  lowConfig: string;
  highConfig: string;
  hosts: Record<'dev' | 'qa' | 'prod', string>;
  stop(): Promise<void>;
}

/**
 * The low side (dev and QA registries, Redis, their keys, and production
 * reached by the `qa-to-prod` channel) and the air-gapped side (its own
 * Redis, registry, database and production key) under `dir`, with `media/`
 * between them: services started, keys made once, configurations written.
 * Every stage signs in both dialects; QA and production pin only the cosign
 * key of the stage before them, as CI signs with cosign.
 */
export async function setUpTwoSides(dir: string, ports: TwoSidePorts, volumeSizeMiB = 1): Promise<TwoSides> {
  const lowDir = join(dir, 'low');
  const highDir = join(dir, 'high');
  const media = join(dir, 'media');
  for (const d of [lowDir, highDir, media, join(media, 'outbox'), join(media, 'receipts')]) mkdirSync(d, { recursive: true });
  const services: SandboxServices[] = [];
  const stop = async () => void (await Promise.all(services.map((s) => s.stop())));
  try {
    services.push(await startServices(highDir, [{ name: 'prod', port: ports.prod }], ports.highRedis));
    services.push(
      await startServices(
        lowDir,
        [
          { name: 'dev', port: ports.dev },
          { name: 'qa', port: ports.qa },
        ],
        ports.lowRedis,
      ),
    );
    const [high, low] = services;
    const hosts = { dev: low.hosts.dev, qa: low.hosts.qa, prod: high.hosts.prod };
    for (const s of ['dev', 'qa']) await ensureKey(lowDir, s);
    await ensureKey(highDir, 'prod');
    // each stage also holds a sigstore (cosign) key: dev's stands for the key CI signs with
    for (const st of ['dev', 'qa']) ensureSigstoreKey(lowDir, st);
    ensureSigstoreKey(highDir, 'prod');
    copyFileSync(join(lowDir, 'keys', 'qa.pub'), join(highDir, 'keys', 'qa.pub'));
    copyFileSync(join(lowDir, 'keys', 'qa-cosign.pub'), join(highDir, 'keys', 'qa-cosign.pub'));
    copyFileSync(join(highDir, 'keys', 'prod.pub'), join(lowDir, 'keys', 'prod-import.pub'));
    const map = (a: keyof typeof hosts, b: keyof typeof hosts) => [{ from: `${hosts[a]}/team/*`, to: `${hosts[b]}/team/*` }];
    const lowConfig = writeSandboxConfig(lowDir, {
      server: { host: '127.0.0.1', port: await pickPort(ports.lowApi) },
      database: 'airlock.db',
      redis: { url: low.redisUrl, prefix: queuePrefix(lowDir) },
      stages: [
        stageEntry('dev', hosts.dev, {}, true, true),
        stageEntry(
          'qa',
          hosts.qa,
          {
            from: [{ stage: 'dev', trustedKeys: ['keys/dev-cosign.pub'], mapping: map('dev', 'qa') }],
            approvals: { required: 1, roles: ['approver'] },
          },
          true,
          true,
        ),
        stageEntry(
          'prod',
          hosts.prod,
          {
            transport: 'bundle',
            from: [{ stage: 'qa', trustedKeys: ['keys/qa-cosign.pub'], mapping: map('qa', 'prod') }],
            approvals: { required: 2, roles: ['approver'] },
          },
          false,
        ),
      ],
      channels: [
        {
          name: 'qa-to-prod',
          from: 'qa',
          to: 'prod',
          encrypt: true,
          recipients: ['keys/prod-import.pub'],
          volumeSizeMiB,
          dir: join(media, 'outbox'),
        },
      ],
    });
    const highConfig = writeSandboxConfig(highDir, {
      server: { host: '127.0.0.1', port: await pickPort(ports.highApi) },
      database: 'airlock.db',
      redis: { url: high.redisUrl, prefix: queuePrefix(highDir) },
      stages: [
        stageEntry('qa', hosts.qa, {}, false),
        stageEntry(
          'prod',
          hosts.prod,
          { from: [{ stage: 'qa', trustedKeys: ['keys/qa-cosign.pub'], mapping: map('qa', 'prod') }] },
          true,
          true,
        ),
      ],
      channels: [
        { name: 'qa-to-prod', from: 'qa', to: 'prod', encrypt: true, trustedSenders: ['keys/qa.pub'], dir: join(media, 'receipts') },
      ],
    });
    return { lowDir, highDir, media, lowConfig, highConfig, hosts, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
