import { logLevel, readableLine } from './logger';

describe('process logs', () => {
  it('reads one pino JSON line as one line a person reads, fields after the message, a stack below', () => {
    const line = JSON.stringify({
      level: 40,
      time: Date.parse('2026-12-02T10:11:12.345Z'),
      pid: 1,
      hostname: 'h',
      msg: 'promotion p1 failed (REGISTRY_UNAVAILABLE)',
      promotionId: 'p1',
      reason: 'connect refused',
      steps: { verify: 0.1 },
      skip: null,
    });
    expect(readableLine(line)).toBe(
      '10:11:12.345 WARN  promotion p1 failed (REGISTRY_UNAVAILABLE)  promotionId=p1 reason="connect refused" steps={"verify":0.1}\n',
    );
    const withStack = readableLine(JSON.stringify({ level: 50, time: 0, msg: 'boom', stack: 'Error: boom\n    at x' }));
    expect(withStack).toBe('00:00:00.000 ERROR boom\nError: boom\n    at x\n');
    expect(readableLine('not json')).toBe('not json\n');
  });

  it('takes the level from AIRLOCK_LOG_LEVEL (info by default) and refuses one it does not know', () => {
    expect(logLevel({})).toBe('info');
    expect(logLevel({ AIRLOCK_LOG_LEVEL: 'DEBUG' })).toBe('debug');
    expect(() => logLevel({ AIRLOCK_LOG_LEVEL: 'loud' })).toThrow(/log level "loud" is not one of fatal, error, warn, info, debug, trace/);
  });
});
