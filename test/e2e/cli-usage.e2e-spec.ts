import { airlock } from '../support/cli';

/** A command that groups others names them when given one it does not have, and fails as a usage error. */
describe('airlock command groups', () => {
  it('print their help alone, and refuse a command they do not have with exit 2', async () => {
    const help = await airlock(['bundle']);
    expect([help.code, help.stdout]).toEqual([0, expect.stringContaining('export')]);
    for (const group of ['bundle', 'keys', 'audit', 'tokens', 'config']) {
      const r = await airlock([group, 'nosuch']);
      expect([group, r.code, r.stderr.trim()]).toEqual([
        group,
        2,
        expect.stringMatching(new RegExp(`^airlock: INVALID_ARGUMENT: airlock ${group} has no command "nosuch": one of .+$`)),
      ]);
    }
  });
});
