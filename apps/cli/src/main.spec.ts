import { takeLogLevel } from './log-level-arg';

describe('--log-level', () => {
  it('is taken out of the arguments wherever it stands, into AIRLOCK_LOG_LEVEL', () => {
    const env: NodeJS.ProcessEnv = {};
    expect(takeLogLevel(['node', 'airlock', 'serve', '--log-level', 'debug', '--config', 'a.yaml'], env)).toEqual([
      'node',
      'airlock',
      'serve',
      '--config',
      'a.yaml',
    ]);
    expect(env.AIRLOCK_LOG_LEVEL).toBe('debug');
    expect(takeLogLevel(['node', 'airlock', '--log-level=warn', 'worker'], env)).toEqual(['node', 'airlock', 'worker']);
    expect(env.AIRLOCK_LOG_LEVEL).toBe('warn');
    // after --, arguments are the command's own
    expect(takeLogLevel(['node', 'airlock', 'x', '--', '--log-level', 'y'], env)).toEqual([
      'node',
      'airlock',
      'x',
      '--',
      '--log-level',
      'y',
    ]);
  });

  it('refuses an unknown level as a usage error', () => {
    expect(() => takeLogLevel(['node', 'airlock', '--log-level', 'loud'], {})).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});
