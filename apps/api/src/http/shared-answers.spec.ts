import Fastify from 'fastify';
import { openDatabase, ReadCache } from '@airlock/database';
import { sharedAnswers } from './shared-answers';

describe('shared answers', () => {
  it("serializes a read cache's answer once for every client, and anything else each time", async () => {
    const db = openDatabase(':memory:');
    const cache = new ReadCache(db);
    const page = cache.read('page', () => ({ items: [{ id: 'a', approvals: [] }], nextCursor: null }));
    const plain = { n: 1 };
    const app = Fastify();
    sharedAnswers(app);
    app.get('/page', () => cache.read('page', () => ({ items: [], nextCursor: 'not computed again' })));
    app.get('/plain', () => plain);
    await app.ready();
    const stringify = jest.spyOn(JSON, 'stringify');
    try {
      for (let i = 0; i < 3; i++) expect((await app.inject({ method: 'GET', url: '/page' })).body).toBe(JSON.stringify(page));
      expect(stringify.mock.calls.filter(([v]) => v === page)).toHaveLength(1 + 3);
      expect((await app.inject({ method: 'GET', url: '/plain' })).json()).toEqual({ n: 1 });
      plain.n = 2;
      expect((await app.inject({ method: 'GET', url: '/plain' })).json()).toEqual({ n: 2 });
    } finally {
      stringify.mockRestore();
      await app.close();
      db.close();
    }
  });
});
