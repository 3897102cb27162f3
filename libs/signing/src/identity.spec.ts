import { identityMatches } from './identity';

const D = 'sha256:' + 'cd'.repeat(32);

describe('identity rules (containers/image semantics)', () => {
  it.each([
    // matchRepoDigestOrExact: tagged image -> exact; digested image -> same repository
    ['matchRepoDigestOrExact', 'qa.example/team/app:1.4', 'qa.example/team/app:1.4', true],
    ['matchRepoDigestOrExact', 'qa.example/team/app:1.4', 'qa.example/team/app:1.5', false],
    ['matchRepoDigestOrExact', 'qa.example/team/app:1.4', 'qa.example/team/other:1.4', false],
    ['matchRepoDigestOrExact', `qa.example/team/app@${D}`, 'qa.example/team/app:anything', true],
    ['matchRepoDigestOrExact', `qa.example/team/app@${D}`, 'qa.example/team/other:1', false],
    ['matchRepoDigestOrExact', 'qa.example/team/app:1.4', 'qa.example/team/app', false],
    ['matchRepoDigestOrExact', 'docker.io/library/busybox:latest', 'busybox:latest', true],
    ['matchRepoDigestOrExact', 'busybox:latest', 'docker.io/library/busybox:latest', true],
    ['matchRepoDigestOrExact', 'docker.io/library/busybox:latest', 'busybox', false],
    ['matchRepoDigestOrExact', 'qa.example/team/app:1.4', 'dev.example/team/app:1.4', false],
    // matchExact: both need a tag or digest, compared whole
    ['matchExact', 'qa.example/team/app:1.4', 'qa.example/team/app:1.4', true],
    ['matchExact', `qa.example/team/app@${D}`, 'qa.example/team/app:1.4', false],
    ['matchExact', `qa.example/team/app@${D}`, `qa.example/team/app@${D}`, true],
    // matchRepository: any tag of the same repository
    ['matchRepository', 'qa.example/team/app:1.4', 'qa.example/team/app:9', true],
    ['matchRepository', 'qa.example/team/app:1.4', 'qa.example/team/app', true],
    ['matchRepository', 'qa.example/team/app:1.4', 'qa.example/team/apps:1.4', false],
    ['matchRepoDigestOrExact', 'qa.example/team/app:1.4', 'not a reference', false],
  ])('%s: image %s, signed %s -> %s', (type, intended, signed, want) => {
    expect(identityMatches({ type } as never, intended, signed)).toBe(want);
  });

  it('exactReference and exactRepository ignore the image name', () => {
    expect(
      identityMatches(
        { type: 'exactReference', dockerReference: 'dev.example/team/app:1' },
        'anything.example/x:2',
        'dev.example/team/app:1',
      ),
    ).toBe(true);
    expect(
      identityMatches(
        { type: 'exactReference', dockerReference: 'dev.example/team/app:1' },
        'anything.example/x:2',
        'dev.example/team/app:2',
      ),
    ).toBe(false);
    expect(
      identityMatches({ type: 'exactRepository', dockerRepository: 'dev.example/team/app' }, 'x.example/y:1', 'dev.example/team/app:7'),
    ).toBe(true);
    expect(
      identityMatches({ type: 'exactRepository', dockerRepository: 'dev.example/team/app' }, 'x.example/y:1', 'dev.example/team/other:7'),
    ).toBe(false);
  });

  it('remapIdentity maps a mirror name onto the signed name', () => {
    const rule = { type: 'remapIdentity' as const, prefix: 'mirror.local:5000/qa', signedPrefix: 'qa.example/team' };
    expect(identityMatches(rule, 'mirror.local:5000/qa/app:1.4', 'qa.example/team/app:1.4')).toBe(true);
    expect(identityMatches(rule, 'mirror.local:5000/qa/app:1.4', 'qa.example/team/app:1.5')).toBe(false);
    expect(identityMatches(rule, `mirror.local:5000/qa/app@${D}`, 'qa.example/team/app:whatever')).toBe(true);
    // not under the prefix (a sibling that merely starts with the same letters): no remapping
    expect(identityMatches(rule, 'mirror.local:5000/qa-evil/app:1.4', 'qa.example/team/app:1.4')).toBe(false);
  });
});
