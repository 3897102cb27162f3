import { backoffDelay, parseRetryAfter, withRetry, TransientError, isTransientStatus } from './retry';
import { RegistryError } from './errors';

describe('retry', () => {
  it('reads Retry-After in seconds and as a date', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    const d = parseRetryAfter(new Date(Date.now() + 2000).toUTCString())!;
    expect(d).toBeGreaterThan(500);
    expect(d).toBeLessThanOrEqual(2000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter('100000')).toBe(60000);
  });

  it('backs off exponentially with jitter, and Retry-After wins when longer', () => {
    const p = { attempts: 5, baseDelayMs: 100, maxDelayMs: 1000 };
    for (let i = 0; i < 50; i++) {
      const d3 = backoffDelay(p, 3);
      expect(d3).toBeGreaterThanOrEqual(200);
      expect(d3).toBeLessThanOrEqual(400);
      expect(backoffDelay(p, 10)).toBeLessThanOrEqual(1000);
    }
    expect(backoffDelay(p, 1, 5000)).toBe(5000);
  });

  it('classifies statuses', () => {
    expect([429, 500, 502, 503, 504, 408].every(isTransientStatus)).toBe(true);
    expect([400, 401, 403, 404, 501].some(isTransientStatus)).toBe(false);
  });

  it('retries transient errors and then fails with REGISTRY_UNAVAILABLE', async () => {
    let n = 0;
    const p = { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 };
    await expect(
      withRetry(p, 'thing', async () => {
        n++;
        throw new TransientError('503');
      }),
    ).rejects.toMatchObject({ code: 'REGISTRY_UNAVAILABLE' });
    expect(n).toBe(3);
  });

  it('does not retry a final error', async () => {
    let n = 0;
    await expect(
      withRetry({ attempts: 3, baseDelayMs: 1, maxDelayMs: 1 }, 'x', async () => {
        n++;
        throw new RegistryError('MANIFEST_UNKNOWN', 'nope');
      }),
    ).rejects.toMatchObject({ code: 'MANIFEST_UNKNOWN' });
    expect(n).toBe(1);
  });

  it('does not retry what another loop already gave up on, whatever network error it began with', async () => {
    let n = 0;
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    await expect(
      withRetry({ attempts: 5, baseDelayMs: 1, maxDelayMs: 1 }, 'x', async () => {
        n++;
        throw new RegistryError('REGISTRY_UNAVAILABLE', 'ping failed after 5 attempts', {}, { cause: refused });
      }),
    ).rejects.toMatchObject({ code: 'REGISTRY_UNAVAILABLE' });
    expect(n).toBe(1);
  });

  it('says before each new attempt which one it is, how long it waits and why', async () => {
    const said: string[] = [];
    await expect(
      withRetry(
        { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 },
        'x',
        async () => {
          throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
        },
        (attempt, delayMs, why) => said.push(`${attempt} ${delayMs <= 1} ${why}`),
      ),
    ).rejects.toMatchObject({ code: 'REGISTRY_UNAVAILABLE' });
    expect(said).toEqual(['1 true connect ECONNREFUSED', '2 true connect ECONNREFUSED']);
  });

  it('succeeds after a transient failure', async () => {
    let n = 0;
    const v = await withRetry({ attempts: 3, baseDelayMs: 1, maxDelayMs: 1 }, 'x', async () => {
      if (++n < 2) throw Object.assign(new Error('reset'), { code: 'ECONNRESET' });
      return 42;
    });
    expect(v).toBe(42);
  });
});
