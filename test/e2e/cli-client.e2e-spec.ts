import { mkdtempSync, rmSync, statSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPipeline, Pipeline } from '../support/pipeline';
import { pushRandomImage } from '../support/images';
import { airlock } from '../support/cli';
import { freePort } from '../support/ports';

/** The approver's and auditor's command line against a running airlock (real API, worker, Redis and registries). */
describe('the client commands (login, promote, approve, reject, status, promotions list, audit events)', () => {
  let p: Pipeline;
  let home: string;
  const env = (extra: NodeJS.ProcessEnv = {}) => ({
    AIRLOCK_CONTEXT: join(home, 'context.json'),
    AIRLOCK_URL: '',
    AIRLOCK_TOKEN: '',
    ...extra,
  });
  const as = (who: string) => env({ AIRLOCK_TOKEN: p.tokens[who] });

  async function image(repo: string) {
    const dev = p.registries.dev;
    const img = await pushRandomImage({ url: dev.url, host: dev.host }, repo, '1', { layers: [1 << 20] });
    await p.signInStage('dev', repo, img.digest, img.reference);
    return img;
  }

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'airlock-client-'));
    p = await startPipeline([
      { name: 'dev' },
      { name: 'qa', from: [{ stage: 'dev', mapping: [{ from: '{dev}/team/*', to: '{qa}/team/*' }] }], approvals: { required: 1 } },
    ]);
  });
  afterAll(async () => {
    await p?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('without a server says where it looked and how to point it at one (exit 2)', async () => {
    const r = await airlock(['promotions', 'list'], { env: env() });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(
      `airlock: INVALID_ARGUMENT: no airlock server to talk to: no ${join(home, 'context.json')} and AIRLOCK_URL/AIRLOCK_TOKEN are not both set; run airlock login URL (the sandbox banner prints the line)`,
    );
  });

  it('login checks the token, saves it readable by its owner only, and refuses a bad one (exit 4) or a closed port (exit 3)', async () => {
    const bad = await airlock(['login', p.url, '--token', 'al_nope'], { env: env() });
    expect([bad.code, bad.stderr]).toEqual([
      4,
      expect.stringMatching(/^airlock: UNAUTHENTICATED: the bearer token is not valid .*\(request [\w-]+\)\n$/),
    ]);
    const closed = await airlock(['login', `http://127.0.0.1:${await freePort()}`, '--token', 'x'], { env: env() });
    expect([closed.code, closed.stderr]).toEqual([
      3,
      expect.stringMatching(/^airlock: API_UNAVAILABLE: cannot reach airlock at http:\/\/127\.0\.0\.1:\d+ /),
    ]);
    // the token on standard input, as a password manager pipes it
    const ok = await airlock(['login', `${p.url}/`], { env: env(), input: `${p.tokens.alice}\n` });
    expect(ok.stdout).toBe(`logged in to ${p.url} as alice (requester); saved in ${join(home, 'context.json')}\n`);
    expect(ok.code).toBe(0);
    expect(statSync(join(home, 'context.json')).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(join(home, 'context.json'), 'utf8'))).toEqual({ url: p.url, token: p.tokens.alice, user: 'alice' });
  });

  it('takes a promotion from request to completed: promote, list, approve (not by the requester), status --watch, audit events', async () => {
    const img = await image('team/cli');
    const req = await airlock(['promote', img.reference, '--from', 'dev', '--to', 'qa', '--reason', 'release 1', '--json'], { env: env() });
    expect(req.code).toBe(0);
    const v = JSON.parse(req.stdout);
    expect([v.state, v.digest, v.reason, v.requester]).toEqual(['requested', img.digest, 'release 1', 'alice']);

    const list = await airlock(['promotions', 'list', '--state', 'requested'], { env: env() });
    expect(list.stdout.split('\n')[0]).toMatch(/^ID\s+STATE\s+FROM\s+TO\s+AGE\s+IMAGE$/);
    expect(list.stdout).toMatch(
      new RegExp(`^${v.id}  requested\\s+dev\\s+qa\\s+\\d+s\\s+${img.reference.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'),
    );

    const self = await airlock(['approve', v.id], { env: env() });
    expect([self.code, self.stderr]).toEqual([4, expect.stringMatching(/^airlock: (FORBIDDEN|SELF_APPROVAL_FORBIDDEN): /)]);
    // AIRLOCK_TOKEN overrides the saved token for one command
    const ok = await airlock(['approve', v.id, '--comment', 'looks good'], { env: as('bob') });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`^promotion ${v.id}: (approved|queued|verifying|copying|signing|published|completed)\\n`));

    const watch = await airlock(['status', v.id, '--watch'], { env: env() });
    expect(watch.code).toBe(0);
    const changes = watch.stdout.split('\n').filter((l) => /^\d\d:\d\d:\d\d {2}\w+ -> \w+/.test(l));
    expect(changes.map((l) => l.slice(10))).toEqual([
      'requested -> approved',
      'approved -> queued',
      'queued -> verifying',
      'verifying -> copying',
      'copying -> signing',
      'signing -> published',
      'published -> completed',
    ]);
    expect(watch.stdout).toContain(`promotion ${v.id}: completed\n`);
    expect(watch.stdout).toContain('  approvals  1 of 1: bob (looks good)\n');

    const refused = await airlock(['audit', 'events', '--promotion', v.id], { env: env() });
    expect(refused.code).toBe(4);
    const events = await airlock(['audit', 'events', '--promotion', v.id, '--action', 'promotion.state'], { env: as('dave') });
    expect(events.code).toBe(0);
    expect(events.stdout.split('\n')[0]).toMatch(/^SEQ\s+TIME\s+ACTOR\s+ACTION\s+PROMOTION\s+WHAT$/);
    expect(events.stdout).toMatch(new RegExp(`promotion\\.state\\s+${v.id}\\s+published -> completed\\n`));
    const json = JSON.parse((await airlock(['audit', 'events', '--promotion', v.id, '--json'], { env: as('dave') })).stdout);
    expect(json.items.map((e: { action: string }) => e.action)).toContain('promotion.requested');
  });

  it('promote --wait follows the promotion through its approval and exits 0 when it completed', async () => {
    const img = await image('team/wait');
    const waiting = airlock(['promote', img.reference, '--from', 'dev', '--to', 'qa', '--wait'], { env: env() });
    let id: string | undefined;
    for (let i = 0; i < 100 && !id; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const items = (await p.call('GET', '/api/v1/promotions?state=requested', p.tokens.bob)).body.items as {
        id: string;
        source: string;
      }[];
      id = items.find((x) => x.source === img.reference)?.id;
    }
    expect(id).toBeDefined();
    await p.call('POST', `/api/v1/promotions/${id}/approve`, p.tokens.carol, {});
    const r = await waiting;
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`promotion ${id} requested: ${img.reference} -> `);
    expect(r.stderr).toMatch(/ published -> completed\n/);
    expect(r.stdout).toMatch(new RegExp(`^promotion ${id}: completed\\n`));
  });

  it('reject needs a reason; a rejected promotion ends a watch with exit 8', async () => {
    const img = await image('team/nope');
    const text = (await airlock(['promote', img.reference, '--from', 'dev', '--to', 'qa'], { env: env() })).stdout;
    const v = { id: /^promotion ([0-9a-f-]{36}) requested: /.exec(text)?.[1] ?? '(no id printed)' };
    expect(text).toContain(`  next   needs 1 more approval: airlock approve ${v.id} (or airlock reject ${v.id} --reason ...)\n`);
    const noReason = await airlock(['reject', v.id], { env: as('bob') });
    expect([noReason.code, noReason.stderr]).toEqual([2, 'airlock: INVALID_ARGUMENT: say why: airlock reject ID --reason TEXT\n']);
    const rej = await airlock(['reject', v.id, '--reason', 'not this week'], { env: as('bob') });
    expect([rej.code, rej.stdout]).toEqual([0, `promotion ${v.id}: rejected\n`]);
    const watch = await airlock(['status', v.id, '--watch'], { env: env() });
    expect(watch.code).toBe(8);
    expect(watch.stderr).toBe(`airlock: PROMOTION_REJECTED: promotion ${v.id} was rejected\n`);
    const missing = await airlock(['status', '00000000-0000-4000-8000-000000000000'], { env: env() });
    expect([missing.code, missing.stderr]).toEqual([2, expect.stringMatching(/^airlock: PROMOTION_NOT_FOUND: /)]);
  });
});
