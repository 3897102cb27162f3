import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, CommandRunner, Option } from 'nest-commander';
import { AirlockError } from '@airlock/common';
import type { AirlockApi } from '../../../api/src/main';
import type { TwoSides } from './two-sides';
import { sandboxBanner } from './sandbox-banner';
import { saveContext } from '../client/server-context';
import { lazy } from '../lazy';
import { startProcesses } from '../serve.command';

type Started = Awaited<ReturnType<typeof startProcesses>>;

export const PEOPLE: [string, string[]][] = [
  ['alice', ['requester']],
  ['bob', ['approver']],
  ['carol', ['approver']],
  ['dave', ['auditor']],
  ['olga', ['operator']],
  ['root', ['admin']],
];

/** Tokens of a side: those saved by an earlier start while they still authenticate as their user, else new ones (0600). */
function sideTokens(dir: string, api: AirlockApi): Record<string, string> {
  const file = join(dir, 'tokens.json');
  let saved: Record<string, unknown> = {};
  try {
    saved = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    /* first start */
  }
  const tokens: Record<string, string> = {};
  for (const [user, roles] of PEOPLE) {
    const t = saved[user];
    const still = typeof t === 'string' ? api.runtime.tokens.authenticate(t) : undefined;
    tokens[user] = still?.user === user ? (t as string) : api.runtime.tokens.create(user, roles, 'sandbox').token;
  }
  writeFileSync(file, JSON.stringify(tokens, null, 2) + '\n', { mode: 0o600 });
  return tokens;
}

/** A context file per person for the client commands (`AIRLOCK_CONTEXT=.../alice.json airlock promote ...`). */
function writeContexts(dir: string, url: string, tokens: Record<string, string>): void {
  mkdirSync(join(dir, 'contexts'), { recursive: true, mode: 0o700 });
  for (const [user, token] of Object.entries(tokens))
    saveContext({ url, token, user }, { AIRLOCK_CONTEXT: join(dir, 'contexts', `${user}.json`) });
}

@Command({
  name: 'sandbox',
  description:
    "Start both sides of an air gap under ./.airlock and leave them running: the low side (dev and QA registries, Redis, an API and a worker, production reached by a channel), the air-gapped side (its own API, database, Redis, registry and production key), media/ between them, tokens and a signed sample; the banner prints each story's commands",
})
export class SandboxCommand extends CommandRunner {
  async run(_p: string[], o: { dir?: string; check?: boolean }): Promise<void> {
    const dir = resolve(o.dir ?? '.airlock');
    mkdirSync(dir, { recursive: true });
    let sides: TwoSides | undefined;
    const started: Started[] = [];
    try {
      sides = await lazy
        .twoSides()
        .setUpTwoSides(dir, { dev: 5101, qa: 5102, prod: 5103, lowRedis: 6390, highRedis: 6393, lowApi: 8080, highApi: 8090 }, 64);
      const sample = await lazy.sandbox().ensureSignedSample(sides.lowDir, 'dev', sides.hosts.dev);
      started.push(await startProcesses(sides.lowConfig, { api: true, worker: true }));
      started.push(await startProcesses(sides.highConfig, { api: true, worker: true }));
      const [low, high] = started;
      const lowTokens = sideTokens(sides.lowDir, low.api!);
      const highTokens = sideTokens(sides.highDir, high.api!);
      writeContexts(sides.lowDir, low.url!, lowTokens);
      writeContexts(sides.highDir, high.url!, highTokens);
      process.stdout.write(sandboxBanner({ ...sides, dir, lowUrl: low.url!, highUrl: high.url!, sample }));
      if (o.check) {
        await this.check(low.url!, lowTokens, sample.ref);
        return;
      }
      await new Promise<void>((r) => {
        process.once('SIGINT', () => r());
        process.once('SIGTERM', () => r());
      });
    } finally {
      for (const s of started.reverse()) await s.close().catch(() => undefined);
      await sides?.stop();
    }
  }

  /** Promotes the sample to QA through the HTTP API and waits for completion (used by tests and CI). */
  private async check(url: string, tokens: Record<string, string>, image: string): Promise<void> {
    const call = async (method: string, path: string, token: string, body?: unknown) => {
      const r = await lazy.undici().request(`${url}${path}`, {
        method: method as never,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body ? JSON.stringify(body) : undefined,
      });
      return (await r.body.json()) as { id: string; state: string; error?: { code: string; message: string } };
    };
    const p = await call('POST', '/api/v1/promotions', tokens.alice, { image, from: 'dev', to: 'qa', reason: 'sandbox check' });
    if (!p.id) throw new AirlockError('INTERNAL', `sandbox check: request refused: ${JSON.stringify(p)}`);
    await call('POST', `/api/v1/promotions/${p.id}/approve`, tokens.bob, { comment: 'sandbox check' });
    const end = Date.now() + 60_000;
    for (;;) {
      const s = await call('GET', `/api/v1/promotions/${p.id}`, tokens.alice);
      if (s.state === 'completed') {
        process.stdout.write(`sandbox check: promotion ${p.id} completed\n`);
        return;
      }
      if (s.state === 'failed' || Date.now() > end)
        throw new AirlockError('INTERNAL', `sandbox check: promotion ${p.id} is ${s.state} ${JSON.stringify(s.error ?? '')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  @Option({ flags: '--dir <dir>', description: 'sandbox state folder (default ./.airlock: commands run here then find its configuration)' })
  parseDir(v: string): string {
    return v;
  }
  @Option({ flags: '--check', description: 'set up, promote the sample to QA once through the API, and exit' })
  parseCheck(): boolean {
    return true;
  }
}
