import { request } from 'undici';
import { startPipeline, Pipeline } from '../support/pipeline';
import { pushRandomImage } from '../support/images';

describe('observability: readiness, Prometheus metrics, OpenAPI', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline([
      { name: 'dev' },
      { name: 'qa', from: [{ stage: 'dev', mapping: [{ from: '{dev}/team/*', to: '{qa}/team/*' }] }], approvals: { required: 1 } },
    ]);
    const dev = p.registries.dev;
    const img = await pushRandomImage({ url: dev.url, host: dev.host }, 'team/app', '1', { layers: [1000] });
    await p.signInStage('dev', 'team/app', img.digest, img.reference);
    const id = (await p.call('POST', '/api/v1/promotions', p.tokens.alice, { image: img.reference, from: 'dev', to: 'qa' })).body.id;
    await p.call('POST', `/api/v1/promotions/${id}/approve`, p.tokens.bob, {});
    await p.waitFor(id, p.tokens.alice, ['completed']);
  });
  afterAll(async () => p?.stop());

  it('is ready when Redis, the database, every registry and the keys are; not ready when a registry is down', async () => {
    const ok = await p.call('GET', '/health/ready');
    expect(ok.status).toBe(200);
    expect(Object.keys(ok.body.details)).toEqual(expect.arrayContaining(['redis', 'database', 'keys', 'registry:dev', 'registry:qa']));
    await p.registries.qa.stop();
    const down = await p.call('GET', '/health/ready');
    expect(down.status).toBe(503);
    expect(down.body.details['registry:qa'].status).toBe('down');
    expect((await p.call('GET', '/health')).status).toBe(200);
  });

  it('exposes Prometheus text that parses', async () => {
    const r = await request(`${p.url}/metrics`);
    expect(r.headers['content-type']).toMatch(/text\/plain/);
    const text = await r.body.text();
    for (const line of text.split('\n').filter(Boolean))
      expect(line).toMatch(
        /^(# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*|[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? -?[0-9.eE+-]+|[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? (NaN|\+Inf|-Inf))$/,
      );
    expect(text).toMatch(/airlock_promotions\{state="completed",stage="qa"\} 1/);
    expect(text).toMatch(/airlock_audit_events \d+/);
    expect(text).toMatch(/airlock_step_duration_seconds_count\{step="copy"\} 1/);
    expect(text).toMatch(/airlock_queue_jobs\{state="completed"\} \d+/);
  });

  it('times every answer by route pattern and status class, never by its raw path', async () => {
    const id = (await p.call('GET', '/api/v1/promotions?limit=1', p.tokens.alice)).body.items[0].id;
    expect((await p.call('GET', `/api/v1/promotions/${id}`, p.tokens.alice)).status).toBe(200);
    expect((await p.call('GET', '/api/v1/promotions/0123456789abcdef', p.tokens.alice)).status).toBe(404);
    expect((await p.call('GET', '/no/such/route')).status).toBe(404);
    const text = await (await request(`${p.url}/metrics`)).body.text();
    const count = (labels: string) =>
      Number(
        new RegExp(`^airlock_http_request_duration_seconds_count\\{${labels.replace(/[/.]/g, '\\$&')}\\} (\\d+)$`, 'm').exec(text)?.[1] ??
          0,
      );
    expect(count('method="GET",route="/api/v1/promotions/:id",status="2xx"')).toBeGreaterThanOrEqual(1);
    expect(count('method="GET",route="/api/v1/promotions/:id",status="4xx"')).toBeGreaterThanOrEqual(1);
    expect(count('method="POST",route="/api/v1/promotions/:id/approve",status="2xx"')).toBeGreaterThanOrEqual(1);
    expect(count('method="GET",route="unmatched",status="4xx"')).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(
      /^airlock_http_request_duration_seconds_bucket\{le="0\.005",method="GET",route="\/api\/v1\/promotions\/:id",status="2xx"\} \d+$/m,
    );
    expect(text).not.toContain(id);
    expect(text).not.toContain('0123456789abcdef');
  });

  it('every route in the OpenAPI document is reachable and guarded as documented', async () => {
    const doc = (await p.call('GET', '/docs/openapi.json')).body;
    const isPublic = (path: string) => /^\/(health|metrics|sigstore)|^\/api\/v1\/stages\/\{stage\}\/(key|policy)$/.test(path);
    const problems: string[] = [];
    let routes = 0;
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      const concrete = path
        .replace('{id}', '00000000-0000-4000-8000-000000000000')
        .replace('{stage}', 'qa')
        .replace('{seq}', '1')
        .replace('{name}', 'x')
        .replace('{path}', 'a@sha256=' + '0'.repeat(64) + '/signature-1');
      for (const method of Object.keys(ops)) {
        routes++;
        const anon = await p.call(method.toUpperCase(), concrete, undefined, method === 'get' ? undefined : {});
        if (!isPublic(path) && anon.status !== 401) problems.push(`${method} ${path} without a token: ${anon.status}`);
        if (isPublic(path) && anon.status === 401) problems.push(`${method} ${path} is public but asked for a token`);
        const admin = await p.call(method.toUpperCase(), concrete, p.tokens.root, method === 'get' ? undefined : {});
        if (admin.status === 404 && /Cannot (GET|POST|PUT)/.test(JSON.stringify(admin.body)))
          problems.push(`${method} ${path} is documented but not served`);
        if (admin.status >= 500 && !(path === '/health/ready')) problems.push(`${method} ${path} as admin: ${admin.status}`);
      }
    }
    expect(routes).toBeGreaterThan(20);
    expect(problems).toEqual([]);
  });

  it('documents every guarded route in OpenAPI with bearer auth', async () => {
    const doc = (await p.call('GET', '/docs/openapi.json')).body;
    const paths = Object.keys(doc.paths);
    for (const route of [
      '/api/v1/promotions',
      '/api/v1/promotions/{id}/approve',
      '/api/v1/audit/events',
      '/api/v1/audit/verify',
      '/api/v1/channels/{name}/bundles',
      '/api/v1/bundles',
    ])
      expect(paths).toContain(route);
    expect(doc.components.securitySchemes.bearer).toBeDefined();
  });
});

describe('live progress and the queue dashboard', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline([
      { name: 'dev' },
      { name: 'qa', from: [{ stage: 'dev', mapping: [{ from: '{dev}/team/*', to: '{qa}/team/*' }] }], approvals: { required: 1 } },
    ]);
  });
  afterAll(async () => p?.stop());

  it('streams a promotion as server-sent events until it is final', async () => {
    const dev = p.registries.dev;
    const img = await pushRandomImage({ url: dev.url, host: dev.host }, 'team/live', '1', { layers: [3 << 20] });
    await p.signInStage('dev', 'team/live', img.digest, img.reference);
    const id = (await p.call('POST', '/api/v1/promotions', p.tokens.alice, { image: img.reference, from: 'dev', to: 'qa' })).body.id;
    const stream = request(`${p.url}/api/v1/promotions/${id}/events`, { headers: { authorization: `Bearer ${p.tokens.dave}` } });
    await new Promise((r) => setTimeout(r, 300));
    await p.call('POST', `/api/v1/promotions/${id}/approve`, p.tokens.bob, {});
    const r = await stream;
    expect(r.headers['content-type']).toMatch(/text\/event-stream/);
    const text = await r.body.text();
    const events = text
      .split('\n\n')
      .filter((b) => b.includes('data: '))
      .map((b) => ({ type: /^event: (.*)$/m.exec(b)?.[1], data: JSON.parse(/^data: (.*)$/m.exec(b)?.[1] ?? 'null') }));
    const views = events.filter((e) => e.type === 'promotion').map((e) => e.data.state as string);
    expect(views[0]).toBe('requested');
    expect(views[views.length - 1]).toBe('completed');
    // every state change, none skipped however quickly the worker moved on
    const changes = events.filter((e) => e.type === 'state').map((e) => `${e.data.from}>${e.data.to}`);
    expect(changes).toEqual([
      'requested>approved',
      'approved>queued',
      'queued>verifying',
      'verifying>copying',
      'copying>signing',
      'signing>published',
      'published>completed',
    ]);
  });

  it('serves Bull Board to admins only', async () => {
    expect((await p.call('GET', '/admin/queues')).status).toBe(401);
    expect((await p.call('GET', '/admin/queues', p.tokens.dave)).status).toBe(403);
    const ok = await p.call('GET', '/admin/queues', p.tokens.root);
    expect(ok.status).toBe(200);
    expect(String(ok.body)).toMatch(/<html/i);
  });
});
