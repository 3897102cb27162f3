import { startRedis } from '../support/redis';

/** The services a test starts are its own: a server already on the port is never taken for the one just started. */
describe('test services', () => {
  it('a redis-server that cannot bind is a failure, not a PONG from whoever holds the port', async () => {
    const other = await startRedis();
    try {
      await expect(startRedis({ port: other.port })).rejects.toThrow(/exited early|another redis-server/);
    } finally {
      await other.stop();
    }
  });
});
