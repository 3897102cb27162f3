import Fastify from 'fastify';
import { durableAnswers } from './durable-answers';

describe('durable answers', () => {
  it('holds every answer while an fsync is in flight, and sends at once when none is', async () => {
    let inFlight: Promise<void> | undefined;
    const app = Fastify();
    durableAnswers(app, { durable: () => inFlight });
    app.get('/x', () => ({ ok: true }));
    await app.ready();
    try {
      expect((await app.inject({ method: 'GET', url: '/x' })).json()).toEqual({ ok: true });
      let release!: () => void;
      inFlight = new Promise<void>((r) => (release = r));
      let answered = false;
      const pending = app.inject({ method: 'GET', url: '/x' }).then((r) => ((answered = true), r));
      await new Promise((r) => setTimeout(r, 30));
      expect(answered).toBe(false);
      inFlight = undefined;
      release();
      expect((await pending).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});
