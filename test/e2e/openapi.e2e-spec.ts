import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPipeline, Pipeline } from '../support/pipeline';
import { pushRandomImage } from '../support/images';
import { schemaErrors } from '../support/schema-check';

const ROOT = join(__dirname, '..', '..');
const DOC_FILE = join(ROOT, 'docs', 'openapi.json');
/** AIRLOCK_UPDATE_OPENAPI=1 writes the document instead of comparing it. */
const UPDATE = process.env.AIRLOCK_UPDATE_OPENAPI === '1';

type Op = {
  summary?: string;
  security?: unknown[];
  responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }>;
};

describe('the OpenAPI document: every route described, answers as documented, the client generated from it', () => {
  let p: Pipeline;
  let doc: {
    paths: Record<string, Record<string, Op>>;
    components: { schemas: Record<string, never>; securitySchemes: Record<string, any> };
  };

  beforeAll(async () => {
    p = await startPipeline([
      { name: 'dev' },
      { name: 'qa', from: [{ stage: 'dev', mapping: [{ from: '{dev}/team/*', to: '{qa}/team/*' }] }], approvals: { required: 1 } },
    ]);
    doc = (await p.call('GET', '/docs/openapi.json')).body as typeof doc;
  });
  afterAll(async () => p?.stop());

  const ops = () =>
    Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([m, op]) => ({ key: `${m.toUpperCase()} ${path}`, op })));

  it('gives every route a summary, a success answer with its schema or media type, and its errors in the Error shape', () => {
    expect(ops().length).toBeGreaterThanOrEqual(34);
    for (const { key, op } of ops()) {
      expect([key, typeof op.summary]).toEqual([key, 'string']);
      const statuses = Object.keys(op.responses);
      const ok = statuses.find((s) => s.startsWith('2')) as string;
      expect([key, Object.keys(op.responses[ok]?.content ?? {}).length > 0]).toEqual([key, true]);
      // 500 INTERNAL at least; every error answer is {"error":{code,message,requestId}}
      expect([key, statuses.includes('500')]).toEqual([key, true]);
      for (const s of statuses.filter((x) => Number(x) >= 400 && !(key === 'GET /health/ready' || key.startsWith('GET /sigstore'))))
        expect([key, s, op.responses[s].content?.['application/json']?.schema.$ref]).toEqual([key, s, '#/components/schemas/Error']);
    }
  });

  it('says what the tokens are and which routes need one (GET /stages does; keys and policies do not)', () => {
    expect(doc.components.securitySchemes.bearer.bearerFormat).toBeUndefined();
    expect(doc.components.securitySchemes.bearer.description).toMatch(/opaque .* not a JWT/);
    const security = Object.fromEntries(ops().map(({ key, op }) => [key, op.security]));
    expect(security['GET /api/v1/stages']).toEqual([{ bearer: [] }]);
    expect(security['GET /api/v1/stages/{stage}/key']).toEqual([]);
    expect(security['GET /health']).toEqual([]);
    expect(security['POST /api/v1/promotions/{id}/approve']).toEqual([{ bearer: [] }]);
    expect(doc.paths['/api/v1/promotions/{id}/approve'].post.responses['403']).toBeDefined();
  });

  it('answers as the schemas say (a promotion taken to completed, the audit trail, the stages, a refusal)', async () => {
    const dev = p.registries.dev;
    const img = await pushRandomImage({ url: dev.url, host: dev.host }, 'team/doc', '1', { layers: [1000] });
    await p.signInStage('dev', 'team/doc', img.digest, img.reference);
    const check = async (method: string, path: string, token: string | undefined, body: unknown, route: string, status: string) => {
      const r = await p.call(method, path, token, body);
      expect([route, r.status]).toEqual([route, Number(status)]);
      const [m, ...rest] = route.split(' ');
      const schema = doc.paths[rest.join(' ')][m.toLowerCase()].responses[status].content?.['application/json']?.schema;
      expect([route, schemaErrors(r.body, schema as never, doc.components.schemas)]).toEqual([route, []]);
      return r.body as any;
    };
    const created = await check(
      'POST',
      '/api/v1/promotions',
      p.tokens.alice,
      { image: img.reference, from: 'dev', to: 'qa' },
      'POST /api/v1/promotions',
      '201',
    );
    await check('POST', `/api/v1/promotions/${created.id}/approve`, p.tokens.bob, {}, 'POST /api/v1/promotions/{id}/approve', '200');
    await p.waitFor(created.id, p.tokens.alice, ['completed']);
    await check('GET', `/api/v1/promotions/${created.id}`, p.tokens.alice, undefined, 'GET /api/v1/promotions/{id}', '200');
    await check('GET', '/api/v1/promotions', p.tokens.alice, undefined, 'GET /api/v1/promotions', '200');
    await check('GET', `/api/v1/promotions/${created.id}/history`, p.tokens.dave, undefined, 'GET /api/v1/promotions/{id}/history', '200');
    await check('GET', '/api/v1/audit/events?limit=50', p.tokens.dave, undefined, 'GET /api/v1/audit/events', '200');
    await check('GET', '/api/v1/audit/events/1', p.tokens.dave, undefined, 'GET /api/v1/audit/events/{seq}', '200');
    await check('GET', '/api/v1/audit/actions', p.tokens.dave, undefined, 'GET /api/v1/audit/actions', '200');
    await check('GET', '/api/v1/audit/verify', p.tokens.dave, undefined, 'GET /api/v1/audit/verify', '200');
    await check('GET', '/api/v1/audit/checkpoints', p.tokens.dave, undefined, 'GET /api/v1/audit/checkpoints', '200');
    await check('GET', '/api/v1/stages', p.tokens.alice, undefined, 'GET /api/v1/stages', '200');
    await check('GET', '/api/v1/stages/qa/policy?format=all', undefined, undefined, 'GET /api/v1/stages/{stage}/policy', '200');
    await check('GET', '/api/v1/whoami', p.tokens.bob, undefined, 'GET /api/v1/whoami', '200');
    await check('GET', '/api/v1/bundles', p.tokens.dave, undefined, 'GET /api/v1/bundles', '200');
    await check('GET', '/health', undefined, undefined, 'GET /health', '200');
    await check('GET', '/api/v1/stages', 'al_nope', undefined, 'GET /api/v1/stages', '401');
    await check('POST', `/api/v1/promotions/${created.id}/approve`, p.tokens.dave, {}, 'POST /api/v1/promotions/{id}/approve', '403');
    await check(
      'GET',
      '/api/v1/promotions/00000000-0000-4000-8000-000000000000',
      p.tokens.alice,
      undefined,
      'GET /api/v1/promotions/{id}',
      '404',
    );
  });

  it('is the document committed in docs/openapi.json (the CLI client types are generated from that file at build time)', () => {
    const text = JSON.stringify(doc, null, 2) + '\n';
    if (UPDATE) writeFileSync(DOC_FILE, text);
    const hint =
      'the API changed: run AIRLOCK_UPDATE_OPENAPI=1 npx jest test/e2e/openapi.e2e-spec.ts, then npm run build, and commit docs/openapi.json';
    expect([hint, readFileSync(DOC_FILE, 'utf8') === text]).toEqual([hint, true]);
  });

  it('checks answers for real: a property the schema does not name, a wrong type or a missing field is reported', () => {
    const schemas = doc.components.schemas;
    const good = { user: 'bob', roles: ['approver'], tokenId: null };
    expect(schemaErrors(good, { $ref: '#/components/schemas/Whoami' }, schemas)).toEqual([]);
    expect(schemaErrors({ ...good, extra: 1 }, { $ref: '#/components/schemas/Whoami' }, schemas)).toEqual(['$.extra: not in the schema']);
    expect(schemaErrors({ ...good, roles: 'approver' }, { $ref: '#/components/schemas/Whoami' }, schemas)).toEqual([
      '$.roles: string, not array',
    ]);
    expect(schemaErrors({ roles: [], tokenId: null }, { $ref: '#/components/schemas/Whoami' }, schemas)).toEqual(['$.user: missing']);
  });
});
