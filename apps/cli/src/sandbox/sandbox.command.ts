import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, CommandRunner, Option } from 'nest-commander';
import { AirlockError } from '@airlock/common';
import { pickPort } from './local-services';
import type { SandboxServices } from './sandbox-env';
import { lazy } from '../lazy';
import { startProcesses } from '../serve.command';

const STAGES = [
  { name: 'dev', port: 5101 },
  { name: 'qa', port: 5102 },
  { name: 'prod', port: 5103 },
];
export const PEOPLE: [string, string[]][] = [
  ['alice', ['requester']],
  ['bob', ['approver']],
  ['carol', ['approver']],
  ['dave', ['auditor']],
  ['olga', ['operator']],
  ['root', ['admin']],
];

@Command({
  name: 'sandbox',
  description:
    'Start a local sandbox under ./.airlock: redis-server and one registry per stage on loopback, stage keys, a configuration, tokens, and a signed sample image in dev; then serve',
})
export class SandboxCommand extends CommandRunner {
  async run(_p: string[], o: { dir?: string; check?: boolean }): Promise<void> {
    const dir = resolve(o.dir ?? '.airlock');
    mkdirSync(dir, { recursive: true });
    let services: SandboxServices | undefined;
    let stopServe: (() => Promise<void>) | undefined;
    const stopAll = async () => {
      await stopServe?.();
      await services?.stop();
    };
    const { ensureKey, ensureSignedSample, stageEntry, startServices, writeSandboxConfig } = lazy.sandbox();
    try {
      services = await startServices(dir, STAGES);
      const hosts = services.hosts;
      for (const s of STAGES) await ensureKey(dir, s.name);
      const apiPort = await pickPort(8080);
      const arrival = (from: string, to: string) => ({
        stage: from,
        trustedKeys: [`keys/${from}.pub`],
        mapping: [{ from: `${hosts[from]}/team/*`, to: `${hosts[to]}/team/*` }],
      });
      const cfgPath = writeSandboxConfig(dir, {
        server: { host: '127.0.0.1', port: apiPort },
        database: 'airlock.db',
        redis: services.redisUrl,
        stages: [
          stageEntry('dev', hosts.dev),
          stageEntry('qa', hosts.qa, { from: [arrival('dev', 'qa')], approvals: { required: 1, roles: ['approver'] } }),
          stageEntry('prod', hosts.prod, { from: [arrival('qa', 'prod')], approvals: { required: 2, roles: ['approver'] } }),
        ],
      });
      const sample = await ensureSignedSample(dir, 'dev', hosts.dev);
      const sampleRef = sample.ref;
      const digest = sample.digest;

      const started = await startProcesses(cfgPath, { api: true, worker: true });
      stopServe = started.close;
      const tokens: Record<string, string> = {};
      for (const [user, roles] of PEOPLE) tokens[user] = started.api!.runtime.tokens.create(user, roles, 'sandbox').token;
      writeFileSync(join(dir, 'tokens.json'), JSON.stringify(tokens, null, 2) + '\n', { mode: 0o600 });
      const url = started.url as string;
      const out = [
        '',
        `airlock sandbox is running (state in ${dir})`,
        `  API      ${url}        OpenAPI: ${url}/docs`,
        `  registries  dev ${hosts.dev}  qa ${hosts.qa}  prod ${hosts.prod}`,
        `  sample   ${sampleRef} (${digest}), signed by dev`,
        `  tokens   ${join(dir, 'tokens.json')}  (alice requester, bob and carol approvers, dave auditor, olga operator, root admin)`,
        '',
        'Promote the sample to QA:',
        `  export AIRLOCK=${url}`,
        `  ALICE=$(node -p "require('${dir}/tokens.json').alice"); BOB=$(node -p "require('${dir}/tokens.json').bob")`,
        `  curl -s -X POST $AIRLOCK/api/v1/promotions -H "Authorization: Bearer $ALICE" -H 'content-type: application/json' \\`,
        `       -d '{"image":"${sampleRef}","from":"dev","to":"qa","reason":"first promotion"}'`,
        `  curl -s -X POST $AIRLOCK/api/v1/promotions/<id>/approve -H "Authorization: Bearer $BOB" -H 'content-type: application/json' -d '{"comment":"ok"}'`,
        `  curl -s $AIRLOCK/api/v1/promotions/<id> -H "Authorization: Bearer $ALICE"`,
        `  npx airlock policy --config ${cfgPath} --stage qa --format all --out qa-cluster/`,
        '',
        'Stop with Ctrl-C.',
      ];
      process.stdout.write(out.join('\n') + '\n');
      if (o.check) {
        await this.check(url, tokens, sampleRef);
        return;
      }
      await new Promise<void>((r) => {
        process.once('SIGINT', () => r());
        process.once('SIGTERM', () => r());
      });
    } finally {
      await stopAll();
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

  @Option({ flags: '--dir <dir>', description: 'sandbox state folder (default ./.airlock)' })
  parseDir(v: string): string {
    return v;
  }
  @Option({ flags: '--check', description: 'set up, promote the sample to QA once through the API, and exit' })
  parseCheck(): boolean {
    return true;
  }
}
