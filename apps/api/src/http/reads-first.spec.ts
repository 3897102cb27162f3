import Fastify from 'fastify';
import { readsFirst } from './reads-first';

describe('reads first', () => {
  it('runs the handlers of reads that arrived with a write before the write, and the write after them', async () => {
    const app = Fastify();
    readsFirst(app);
    const ran: string[] = [];
    // a write without a body: no parsing delays it, so only the hook puts the reads ahead of it
    app.delete('/w', () => (ran.push('write'), { ok: true }));
    app.get('/r', () => (ran.push('read'), { ok: true }));
    await app.ready();
    try {
      const answers = await Promise.all([
        app.inject({ method: 'DELETE', url: '/w' }),
        app.inject({ method: 'GET', url: '/r' }),
        app.inject({ method: 'GET', url: '/r' }),
      ]);
      expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200]);
      expect(ran).toEqual(['read', 'read', 'write']);
    } finally {
      await app.close();
    }
  });
});
