import { RUNNING, STATES, TERMINAL, TRANSITIONS, nextState, stepEvent } from './promotion-lifecycle';

describe('the promotion lifecycle table', () => {
  it('walks the registry path and the bundle path on both sides of the gap', () => {
    const walk = (from: (typeof STATES)[number], events: Parameters<typeof nextState>[1][]) =>
      events.reduce<string | undefined>((s, e) => s && nextState(s as never, e), from);
    expect(walk('requested', ['approve', 'enqueue', 'verify', 'copy', 'sign', 'publish', 'complete'])).toBe('completed');
    expect(walk('requested', ['approve', 'enqueue', 'verify', 'await-export', 'export', 'receipt'])).toBe('imported');
    expect(walk('requested', ['approve', 'arrive'])).toBe('imported');
    expect(walk('requested', ['approve', 'enqueue', 'verify', 'fail', 'retry', 'verify'])).toBe('verifying');
  });

  it('never moves a run backwards, out of a terminal state, or by a report that came late', () => {
    expect(nextState('copying', 'verify')).toBeUndefined();
    expect(nextState('published', 'sign')).toBeUndefined();
    // a lost report skips a step forward
    expect(nextState('verifying', 'sign')).toBe('signing');
    for (const s of TERMINAL)
      for (const t of TRANSITIONS)
        if (!(s === 'failed' && t.event === 'retry')) expect([s, t.event, nextState(s, t.event)]).toEqual([s, t.event, undefined]);
    // the bug the old order map had: a copy never ends in `exported`
    expect(nextState('copying', 'export')).toBeUndefined();
  });

  it('names a state for every step report that moves one, and every state the table reaches is a state', () => {
    expect(['verify', 'copy', 'sign'].map((s) => stepEvent(s, 'started'))).toEqual(['verify', 'copy', 'sign']);
    expect([stepEvent('publish', 'started'), stepEvent('publish', 'done'), stepEvent('copy', 'done')]).toEqual([
      undefined,
      'publish',
      undefined,
    ]);
    for (const t of TRANSITIONS) expect(STATES).toContain(t.to);
    expect(RUNNING.every((s) => !TERMINAL.includes(s))).toBe(true);
  });
});
