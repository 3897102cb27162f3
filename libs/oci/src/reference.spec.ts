import { formatReference, parseReference, apiHost } from './reference';
import { RegistryError } from './errors';

const D = 'sha256:' + 'a'.repeat(64);

describe('parseReference', () => {
  it.each([
    ['busybox', 'docker.io/library/busybox:latest'],
    ['docker.io/busybox', 'docker.io/library/busybox:latest'],
    ['index.docker.io/library/busybox:1.36', 'docker.io/library/busybox:1.36'],
    ['team/app:1.4', 'docker.io/team/app:1.4'],
    ['localhost/app', 'localhost/app:latest'],
    ['localhost:5000/app:1', 'localhost:5000/app:1'],
    ['127.0.0.1:5000/a/b/c:v1.2.3', '127.0.0.1:5000/a/b/c:v1.2.3'],
    ['reg.example:5000/team/app@' + D, 'reg.example:5000/team/app@' + D],
    ['reg.example/team/app:1@' + D, 'reg.example/team/app:1@' + D],
    ['docker://quay.io/a/b:x', 'quay.io/a/b:x'],
    ['[::1]:5000/app:1', '[::1]:5000/app:1'],
  ])('%s -> %s', (input, want) => {
    expect(formatReference(parseReference(input))).toBe(want);
  });

  it('keeps nested repositories and splits host from path', () => {
    const r = parseReference('qa.example:5000/a/b/c:tag');
    expect(r).toEqual({ registry: 'qa.example:5000', repository: 'a/b/c', tag: 'tag' });
  });

  it('leaves the tag empty when asked not to default it', () => {
    expect(parseReference('reg.example/app', { defaultTag: false }).tag).toBeUndefined();
  });

  it.each([
    '',
    'upper/Case',
    'reg.example/Team/app',
    'reg.example/app:',
    'reg.example/app:-bad',
    'reg.example/app@sha256:../x',
    'reg.example/app@sha256:abc',
    'reg.example/app@md5:' + 'a'.repeat(32),
    'reg.example//app',
    'reg.example/app/',
    'a b',
    'reg.example/' + 'a'.repeat(300),
    'reg.example/app:' + 't'.repeat(129),
  ])('refuses %j with INVALID_REFERENCE', (input) => {
    let err: unknown;
    try {
      parseReference(input);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as RegistryError).code).toBe('INVALID_REFERENCE');
  });

  it('talks to Docker Hub through its API host', () => {
    expect(apiHost('docker.io')).toBe('registry-1.docker.io');
    expect(apiHost('quay.io')).toBe('quay.io');
  });
});
