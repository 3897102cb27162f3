import { queuePrefix } from './two-sides';

describe('a sandbox side', () => {
  it("keeps its queue apart from any other folder's (a stale worker of another sandbox takes none of its jobs)", () => {
    expect(queuePrefix('/a/.airlock/low')).toBe(queuePrefix('/a/.airlock/low/'));
    expect(queuePrefix('/a/.airlock/low')).not.toBe(queuePrefix('/a/.airlock/high'));
    expect(queuePrefix('/a/.airlock/low')).not.toBe(queuePrefix('/b/.airlock/low'));
    expect(queuePrefix('/a/.airlock/low')).toMatch(/^airlock-sandbox-[0-9a-f]{12}$/);
  });
});
