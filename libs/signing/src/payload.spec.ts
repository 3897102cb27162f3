import { buildPayload, parsePayload } from './payload';
import { parseStrictJson } from '@airlock/common';

const D = 'sha256:' + 'ab'.repeat(32);
const ok = (o: object) => Buffer.from(JSON.stringify(o));
const base = () => ({
  critical: {
    identity: { 'docker-reference': 'reg.example:5000/team/app:1.4' },
    image: { 'docker-manifest-digest': D },
    type: 'atomic container signature',
  },
  optional: {},
});

describe('simple signing payload', () => {
  it('builds compact JSON with no trailing newline, in the documented shape', () => {
    const p = buildPayload({
      dockerReference: 'reg.example:5000/team/app:1.4',
      manifestDigest: D,
      creator: 'airlock 0.1.0',
      timestamp: 1795447419,
    }).toString();
    expect(p).toBe(
      `{"critical":{"identity":{"docker-reference":"reg.example:5000/team/app:1.4"},"image":{"docker-manifest-digest":"${D}"},"type":"atomic container signature"},"optional":{"creator":"airlock 0.1.0","timestamp":1795447419}}`,
    );
    expect(parsePayload(Buffer.from(p))).toEqual({
      dockerReference: 'reg.example:5000/team/app:1.4',
      manifestDigest: D,
      creator: 'airlock 0.1.0',
      timestamp: 1795447419,
    });
  });

  it('accepts unknown keys inside optional, and an empty optional', () => {
    const d = base();
    expect(parsePayload(ok(d)).manifestDigest).toBe(D);
    (d.optional as Record<string, unknown>).whatever = [1, 2];
    expect(parsePayload(ok(d)).dockerReference).toBe('reg.example:5000/team/app:1.4');
  });

  const cases: [string, Buffer][] = [
    ['wrong critical.type', ok({ ...base(), critical: { ...base().critical, type: 'cosign container image signature' } })],
    ['unknown key in critical', ok({ ...base(), critical: { ...base().critical, extra: 1 } })],
    [
      'unknown key in critical.identity',
      ok({ ...base(), critical: { ...base().critical, identity: { 'docker-reference': 'a/b:1', x: 1 } } }),
    ],
    ['unknown key in critical.image', ok({ ...base(), critical: { ...base().critical, image: { 'docker-manifest-digest': D, x: 1 } } })],
    ['unknown top-level key', ok({ ...base(), other: {} })],
    ['missing optional', ok({ critical: base().critical })],
    ['missing identity', ok({ ...base(), critical: { type: 'atomic container signature', image: { 'docker-manifest-digest': D } } })],
    ['duplicate key', Buffer.from(ok(base()).toString().replace('"optional":{}', '"optional":{},"optional":{}'))],
    ['duplicate key inside critical', Buffer.from(ok(base()).toString().replace('"type":', '"type":"x","type":'))],
    ['trailing data', Buffer.concat([ok(base()), Buffer.from(' {}')])],
    ['timestamp of the wrong type', ok({ ...base(), optional: { timestamp: '1795447419' } })],
    ['creator of the wrong type', ok({ ...base(), optional: { creator: 5 } })],
    ['digest with a path', ok({ ...base(), critical: { ...base().critical, image: { 'docker-manifest-digest': 'sha256:../x' } } })],
    ['digest of the wrong length', ok({ ...base(), critical: { ...base().critical, image: { 'docker-manifest-digest': 'sha256:abcd' } } })],
    ['reference of the wrong type', ok({ ...base(), critical: { ...base().critical, identity: { 'docker-reference': 7 } } })],
    ['not an object', Buffer.from('[]')],
    ['not JSON', Buffer.from('{"critical":')],
  ];
  it.each(cases)('refuses %s with SIGNATURE_PAYLOAD_INVALID', (_name, bytes) => {
    expect(() => parsePayload(bytes)).toThrow(expect.objectContaining({ code: 'SIGNATURE_PAYLOAD_INVALID' }));
  });

  it('reads JSON strictly', () => {
    expect(parseStrictJson('{"a":[1,2,{"b":null}],"c":"\\u00e9"}')).toEqual({ a: [1, 2, { b: null }], c: 'é' });
    expect(() => parseStrictJson('{"a":1,"a":2}')).toThrow(/duplicate/);
    expect(() => parseStrictJson('{} x')).toThrow(/trailing/);
    expect(() => parseStrictJson('{"a":01}')).toThrow();
    expect(() => parseStrictJson('[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]')).toThrow(/deep/);
  });
});
