import { withTimeout } from './with-timeout';

const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('withTimeout', () => {
  it('passes on what settles in time, either way, and leaves no timer behind', async () => {
    const before = timers();
    await expect(withTimeout(Promise.resolve(7), 60_000)).resolves.toBe(7);
    await expect(withTimeout(Promise.reject(new Error('refused')), 60_000)).rejects.toThrow('refused');
    expect(timers()).toBe(before);
  });

  it('rejects with its message when the promise is late', async () => {
    await expect(withTimeout(new Promise(() => undefined), 20, 'redis did not answer')).rejects.toThrow('redis did not answer');
    await expect(withTimeout(new Promise(() => undefined), 20)).rejects.toThrow('no answer in 20 ms');
  });
});
