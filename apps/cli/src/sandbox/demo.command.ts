import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join, resolve } from 'node:path';
import { Command, CommandRunner, Option } from 'nest-commander';
import { AirlockError } from '@airlock/common';
import { lazy } from '../lazy';
import type { TwoSides } from './two-sides';
import { PEOPLE } from './sandbox.command';
import { startProcesses } from '../serve.command';
import { count } from '../plural';

const run = promisify(execFile);
type Started = Awaited<ReturnType<typeof startProcesses>>;
/** What the demo reads of the API's answers. */
interface Promotion {
  id: string;
  digest: string;
  state: string;
  approvalsNeeded: number;
  error?: unknown;
}
interface ExportResult {
  sequence: number;
  volumes: { name: string }[];
  bytes: number;
  dir: string;
}
interface ChainCheck {
  ok: boolean;
  size: number;
}

/** One side of the demo: its API, tokens and a small HTTP client. */
class Side {
  tokens: Record<string, string> = {};
  constructor(
    readonly name: string,
    readonly started: Started,
  ) {
    for (const [user, roles] of PEOPLE) this.tokens[user] = started.api!.runtime.tokens.create(user, roles, 'demo').token;
  }
  get url(): string {
    return this.started.url as string;
  }
  /** One API call; the answer is read as the shape the demo expects of that route (the API's own tests check the shapes). */
  async call<T>(method: string, path: string, who: string, body?: unknown): Promise<T> {
    const r = await lazy.undici().request(`${this.url}${path}`, {
      method: method as never,
      headers: { authorization: `Bearer ${this.tokens[who]}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const j = (await r.body.json()) as T & { error?: { code?: string; message?: string } };
    if (r.statusCode >= 400)
      throw new AirlockError('INTERNAL', `${method} ${path} as ${who}: ${r.statusCode} ${j?.error?.code}: ${j?.error?.message}`);
    return j;
  }
  async waitFor(id: string, states: string[]): Promise<Promotion> {
    const end = Date.now() + 120_000;
    for (;;) {
      const p = await this.call<Promotion>('GET', `/api/v1/promotions/${id}`, 'dave');
      if (states.includes(p.state)) return p;
      if (p.state === 'failed' || Date.now() > end)
        throw new AirlockError('INTERNAL', `promotion ${id} is ${p.state}: ${JSON.stringify(p.error)}`);
      await new Promise((r) => setTimeout(r, 150));
    }
  }
  /** Waits for an export job the API started to end; its result is the bundle written. */
  async waitForJob(id: string): Promise<ExportResult> {
    const end = Date.now() + 120_000;
    for (;;) {
      const j = await this.call<{ state: string; result: ExportResult; error?: unknown }>('GET', `/api/v1/bundle-jobs/${id}`, 'olga');
      if (j.state === 'completed') return j.result;
      if (j.state === 'failed' || Date.now() > end)
        throw new AirlockError('INTERNAL', `export job ${id} is ${j.state}: ${JSON.stringify(j.error)}`);
      await new Promise((r) => setTimeout(r, 150));
    }
  }
}

@Command({
  name: 'demo',
  description:
    'Tell the whole story on two local sandboxes: dev -> QA over the network, QA -> an air-gapped production over a bundle, with approvals, re-signing, skopeo under generated policies, a receipt, and the audit trail',
})
export class DemoCommand extends CommandRunner {
  private t0 = Date.now();
  private say(line: string): void {
    process.stdout.write(`[${((Date.now() - this.t0) / 1000).toFixed(1).padStart(5)}s] ${line}\n`);
  }

  async run(_p: string[], o: { dir?: string }): Promise<void> {
    const dir = resolve(o.dir ?? join('.airlock', 'demo'));
    rmSync(dir, { recursive: true, force: true });
    const media = join(dir, 'media');
    const { ensureSignedSample } = lazy.sandbox();
    const { importReceipt } = lazy.promotion();
    let sides: TwoSides | undefined;
    const started: Started[] = [];
    try {
      sides = await lazy.twoSides().setUpTwoSides(dir, {
        dev: 5121,
        qa: 5122,
        prod: 5123,
        lowRedis: 6391,
        highRedis: 6392,
        lowApi: 8081,
        highApi: 8082,
      });
      const { lowDir, highDir, hosts, lowConfig: lowCfg, highConfig: highCfg } = sides;
      started.push(await startProcesses(lowCfg, { api: true, worker: true, quiet: true }));
      started.push(await startProcesses(highCfg, { api: true, worker: false, quiet: true }));
      const L = new Side('low', started[0]);
      const H = new Side('high', started[1]);
      this.say(`low side up: API ${L.url}, registries dev ${hosts.dev} and qa ${hosts.qa}, Redis, keys for dev and qa`);
      this.say(`air-gapped side up: its own API ${H.url}, database, registry ${hosts.prod} and production key; nothing connects the two`);

      const sample = await ensureSignedSample(lowDir, 'dev', hosts.dev, 'team/hello', '1.0');
      this.say(
        `dev: ${sample.ref} pushed and signed as CI signs it with cosign (${sample.digest.slice(0, 19)}..., the signature in dev's registry as ${sample.digest.replace(':', '-').slice(0, 19)}....sig)`,
      );

      const q = await L.call<Promotion>('POST', '/api/v1/promotions', 'alice', {
        image: sample.ref,
        from: 'dev',
        to: 'qa',
        reason: 'demo: first release',
      });
      this.say(
        `QA: alice requested the promotion (the tag resolved to ${q.digest.slice(0, 19)}...); it needs ${q.approvalsNeeded} approval`,
      );
      await L.call('POST', `/api/v1/promotions/${q.id}/approve`, 'bob', { comment: 'tested in dev' });
      const qd = await L.waitFor(q.id, ['completed']);
      this.say(
        `QA: bob approved; the worker verified dev's cosign signature, copied by digest, re-signed with QA's keys in both dialects: ${qd.state}`,
      );
      const qaRef = `${hosts.qa}/team/hello:1.0`;
      await this.skopeoUnderPolicy(L, 'qa', qaRef, join(dir, 'qa-cluster'));
      this.say(
        `QA: skopeo pulls ${qaRef} under the policy.json and registries.d airlock generated for QA's clusters (simple signing: Debian's skopeo has no sigstore)`,
      );
      this.say(`QA: ${await this.cosignCheck(L, 'qa', qaRef, qd.digest, join(lowDir, 'keys', 'qa-cosign.pub'))}`);

      const pr = await L.call<Promotion>('POST', '/api/v1/promotions', 'alice', {
        image: qaRef,
        from: 'qa',
        to: 'prod',
        reason: 'demo: go live',
      });
      await L.call('POST', `/api/v1/promotions/${pr.id}/approve`, 'bob', { comment: 'QA passed' });
      await L.call('POST', `/api/v1/promotions/${pr.id}/approve`, 'carol', { comment: 'change board ok' });
      await L.waitFor(pr.id, ['exporting']);
      this.say("production: alice requested, bob and carol approved; QA's cosign signature verified; waiting for the air-gap channel");
      const ex = await L.waitForJob((await L.call<{ id: string }>('POST', '/api/v1/channels/qa-to-prod/bundles', 'olga', {})).id);
      this.say(
        `bundle exported by olga: sequence ${ex.sequence}, ${count(ex.volumes.length, 'volume')}, ${(ex.bytes / 2 ** 20).toFixed(2)} MiB, signed by QA and encrypted to production's key`,
      );

      const carried = join(media, 'usb-stick');
      mkdirSync(carried, { recursive: true });
      // the volumes only: the plan and sealed index kept beside them stay on the low side
      for (const v of ex.volumes) copyFileSync(join(ex.dir, v.name), join(carried, v.name));
      const rt = started[1].api!.runtime;
      const imp = await rt.importer.import(
        { principal: { user: 'olga', roles: ['operator'] } },
        readdirSync(carried).map((f) => join(carried, f)),
      );
      this.say(
        `air-gapped side: every volume, the sender signature and every entry checked; pushed, QA's cosign signature (carried in the bundle) verified, re-signed with production's keys in both dialects`,
      );
      const prodRef = `${hosts.prod}/team/hello:1.0`;
      await this.skopeoUnderPolicy(H, 'prod', prodRef, join(dir, 'prod-cluster'));
      this.say(`production: skopeo pulls ${prodRef} under production's generated policy`);
      this.say(`production: ${await this.cosignCheck(H, 'prod', prodRef, qd.digest, join(highDir, 'keys', 'prod-cosign.pub'))}`);

      const lrt = started[0].api!.runtime;
      const rc = await importReceipt(
        lrt.db,
        lrt.audit,
        lrt.catalog,
        lrt.service,
        { principal: { user: 'olga', roles: ['operator'] } },
        'qa-to-prod',
        readFileSync(imp.receipt),
      );
      this.say(
        `receipt carried back: ${rc.promotions} promotion marked imported on the low side; ${rc.blobs} blobs the next bundle can leave out`,
      );

      const story = await L.call<{
        promotion: Promotion & { approvals: { approver: string }[]; target: string; requester: string };
        events: unknown[];
      }>('GET', `/api/v1/promotions/${pr.id}/history`, 'dave');
      const approvers = story.promotion.approvals.map((a) => a.approver).join(' and ');
      this.say(
        `auditor dave: ${story.promotion.target} was requested by ${story.promotion.requester}, approved by ${approvers}, ${story.events.length} events, state ${story.promotion.state}`,
      );
      const lv = await L.call<ChainCheck>('GET', '/api/v1/audit/verify', 'dave');
      const hv = await H.call<ChainCheck>('GET', '/api/v1/audit/verify', 'dave');
      if (!lv.ok || !hv.ok) throw new AirlockError('AUDIT_CHAIN_BROKEN', 'an audit chain did not verify');
      this.say(`audit chains verified: low side ${lv.size} events, air-gapped side ${hv.size} events`);
      process.stdout.write(
        [
          '',
          'Where to look next:',
          `  ${dir}            both sides' state (configs, keys, databases, the carried bundle and receipt)`,
          `  ${join(dir, 'qa-cluster')}, ${join(dir, 'prod-cluster')}   the cluster policy files airlock generated`,
          "  npm start                          both sides of the gap left running; its banner prints each story's commands",
          '  README.md                          guides for approvers, operators, auditors and cluster admins',
          '',
        ].join('\n'),
      );
    } finally {
      for (const s of started.reverse()) await s.close().catch(() => undefined);
      await sides?.stop();
    }
  }

  /** Writes the stage's policy files and pulls the image through skopeo under them. */
  private async skopeoUnderPolicy(side: Side, stage: string, ref: string, out: string): Promise<void> {
    mkdirSync(join(out, 'registries.d'), { recursive: true });
    const catalog = side.started.api!.runtime.catalog;
    const { renderPolicyFiles } = lazy.promotion();
    // every file the stage's keys allow (Kyverno, policy-controller, OpenShift included); skopeo gets the simple-signing policy, since Debian builds it without sigstore
    for (const f of renderPolicyFiles(catalog, stage, 'all')) writeFileSync(join(out, f.name), f.content);
    writeFileSync(join(out, 'policy.json'), renderPolicyFiles(catalog, stage, 'policy-json', 'simple')[0].content);
    for (const f of renderPolicyFiles(catalog, stage, 'registries-d', 'simple'))
      writeFileSync(join(out, 'registries.d', f.name), f.content);
    try {
      await run('skopeo', [
        '--policy',
        join(out, 'policy.json'),
        '--registries.d',
        join(out, 'registries.d'),
        'copy',
        '--src-tls-verify=false',
        `docker://${ref}`,
        `dir:${join(out, 'pulled')}`,
      ]);
    } catch (e) {
      throw new AirlockError(
        'SIGNATURE_REQUIRED',
        `skopeo refused ${ref}: ${String((e as { stderr?: string }).stderr ?? e)
          .trim()
          .split('\n')
          .pop()}`,
      );
    }
  }

  /** What a cosign-aware enforcer (Kyverno, policy-controller) checks: the stage's signature in its registry, with the stage's sigstore public key. */
  private async cosignCheck(side: Side, stage: string, ref: string, digest: string, pubFile: string): Promise<string> {
    const { RegistrySigstoreStore } = lazy.promotion();
    const { readSigstorePublicKey, verifySigstore } = lazy.signing();
    const pub = readSigstorePublicKey(readFileSync(pubFile));
    const host = ref.split('/')[0];
    const store = new RegistrySigstoreStore(side.started.api!.runtime.registries.client(host));
    const ok = (await store.list('team/hello', digest)).find((s) => {
      try {
        return !!verifySigstore(s, { trustedKeys: [pub], manifestDigest: digest, reference: ref });
      } catch {
        return false;
      }
    });
    if (!ok) throw new AirlockError('SIGNATURE_REQUIRED', `no cosign signature of ${stage} on ${ref}`);
    return `its cosign signature (${digest.replace(':', '-').slice(0, 19)}....sig in the registry) verifies with ${stage}'s sigstore key ${pub.fingerprint.slice(0, 16)}..., as Kyverno or policy-controller would check it`;
  }

  @Option({ flags: '--dir <dir>', description: 'where both sides keep their state (default ./.airlock/demo, emptied first)' })
  parseDir(v: string): string {
    return v;
  }
}
