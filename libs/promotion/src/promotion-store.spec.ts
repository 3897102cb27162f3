import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Db, migrate, openDatabase } from '@airlock/database';
import { PromotionRow, PromotionStore } from './promotion-store';

describe('promotion store', () => {
  let dir: string;
  let db: Db;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'airlock-store-'));
    db = openDatabase(join(dir, 'a.db'));
    migrate(db);
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const row = (i: number, over: Partial<PromotionRow> = {}): Omit<PromotionRow, 'rowid'> => ({
    id: `p${i}`,
    image: `dev.example/team/app:${i}`,
    source_ref: `dev.example/team/app:${i}`,
    target_ref: `qa.example/team/app:${i}`,
    digest: `sha256:${String(i).repeat(64).slice(0, 64)}`,
    media_type: 'application/vnd.oci.image.manifest.v1+json',
    from_stage: 'dev',
    to_stage: 'qa',
    reason: `reason ${i}`,
    requester: i % 2 ? 'alice' : 'erin',
    state: 'requested',
    approvals_required: 2,
    attempt: i,
    error_code: i === 3 ? 'SIGNATURE_REQUIRED' : null,
    error_message: i === 3 ? 'no signature' : null,
    bytes_done: 10 * i,
    bytes_total: 20 * i,
    result: i === 2 ? '{"signatures":[]}' : null,
    created_at: `2026-11-24T00:00:0${i}.000Z`,
    updated_at: `2026-11-24T00:01:0${i}.000Z`,
    finished_at: i === 3 ? '2026-11-24T00:02:00.000Z' : null,
    platforms: i === 4 ? 'linux/amd64,linux/arm64' : null,
    target_digest: i === 4 ? `sha256:${'9'.repeat(64)}` : null,
    ...over,
  });

  it('names what a resend would supersede: a later promotion of the same target on its way or arrived, never an earlier one or a failed one', () => {
    const store = new PromotionStore(db);
    const t = 'prod.example/team/app:1';
    store.insert(row(1, { to_stage: 'prod', target_ref: t, state: 'exported' }));
    store.insert(row(2, { to_stage: 'prod', target_ref: t, state: 'failed' }));
    store.insert(row(3, { to_stage: 'prod', target_ref: 'prod.example/team/other:1', state: 'exported' }));
    expect(store.supersededBy(store.get('p1') as PromotionRow)).toBeUndefined();
    store.insert(row(4, { to_stage: 'prod', target_ref: t, state: 'exporting' }));
    expect(store.supersededBy(store.get('p1') as PromotionRow)?.id).toBe('p4');
    expect(store.supersededBy(store.get('p4') as PromotionRow)).toBeUndefined();
    expect(store.exportedUnconfirmed('dev', 'prod').map((p) => p.id)).toEqual(['p1', 'p3']);
  });

  it('reads every column into its own field, the same as SELECT *, for one row, a list page and a state query', () => {
    const store = new PromotionStore(db);
    for (let i = 1; i <= 4; i++) store.insert(row(i, i === 4 ? { state: 'copying' } : {}));
    const star = (id: string) => db.prepare('SELECT rowid, * FROM promotions WHERE id = ?').get(id) as PromotionRow;
    for (let i = 1; i <= 4; i++) expect(store.get(`p${i}`)).toEqual(star(`p${i}`));
    expect(store.get('nope')).toBeUndefined();
    expect(store.list({ limit: 10 })).toEqual(['p4', 'p3', 'p2', 'p1'].map(star));
    expect(store.list({ limit: 2, requester: 'alice' }).map((r) => r.id)).toEqual(['p3', 'p1']);
    expect(store.list({ limit: 10, before: star('p3').rowid }).map((r) => r.id)).toEqual(['p2', 'p1']);
    expect(store.inStates(['copying'])).toEqual([star('p4')]);
    // a digest finds the promotion by what was requested or by what landed (the subset index of chosen platforms)
    expect(store.list({ limit: 10, image: `sha256:${'9'.repeat(64)}` }).map((r) => r.id)).toEqual(['p4']);
    expect(store.list({ limit: 10, image: star('p2').digest }).map((r) => r.id)).toEqual(['p2']);
  });
});
