import { SignatureError } from './errors';
import { JsonValue, StrictJsonError, parseStrictJson } from '@airlock/common';

export const SIGNATURE_TYPE = 'atomic container signature';
/** The same claims as cosign writes them (the sigstore dialect): another type, and `optional` may be null. */
export const COSIGN_SIGNATURE_TYPE = 'cosign container image signature';

/** What a simple signing payload asserts. */
export interface SignedClaims {
  dockerReference: string;
  manifestDigest: string;
  creator?: string;
  timestamp?: number;
}

/** The exact payload bytes: compact JSON, no trailing newline (docs/formats.md, section 1). */
export function buildPayload(c: SignedClaims): Buffer {
  const optional: Record<string, unknown> = {};
  if (c.creator !== undefined) optional.creator = c.creator;
  if (c.timestamp !== undefined) optional.timestamp = c.timestamp;
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': c.dockerReference },
        image: { 'docker-manifest-digest': c.manifestDigest },
        type: SIGNATURE_TYPE,
      },
      optional,
    }),
  );
}

/**
 * The exact bytes cosign signs for an image (its Go struct marshalled:
 * `optional` null): the identity is the repository, without tag or digest,
 * as cosign writes it.
 */
export function buildCosignPayload(manifestDigest: string, repository: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': repository },
        image: { 'docker-manifest-digest': manifestDigest },
        type: COSIGN_SIGNATURE_TYPE,
      },
      optional: null,
    }),
  );
}

const DIGEST_RE = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

function bad(why: string): SignatureError {
  return new SignatureError('SIGNATURE_PAYLOAD_INVALID', `signature payload is invalid: ${why}`);
}

function object(v: JsonValue | undefined, where: string): Record<string, JsonValue> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(`${where} must be an object`);
  return v;
}

function exactKeys(o: Record<string, JsonValue>, keys: string[], where: string): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw bad(`unknown key ${JSON.stringify(k)} in ${where}`);
  for (const k of keys) if (!(k in o)) throw bad(`${where}.${k} is missing`);
}

function string(v: JsonValue, where: string): string {
  if (typeof v !== 'string') throw bad(`${where} must be a string`);
  return v;
}

/**
 * Reads a payload with the rules of containers/image: exact fields in
 * `critical`, `critical.identity` and `critical.image`; `optional` required
 * (unknown keys inside it allowed, known ones typed); no duplicate keys, no
 * trailing data. Call only on bytes whose signature already checked out.
 */
export function parsePayload(bytes: Uint8Array, type: typeof SIGNATURE_TYPE | typeof COSIGN_SIGNATURE_TYPE = SIGNATURE_TYPE): SignedClaims {
  let doc: JsonValue;
  try {
    doc = parseStrictJson(Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    if (e instanceof StrictJsonError) throw bad(e.message);
    throw e;
  }
  const top = object(doc, 'the payload');
  exactKeys(top, ['critical', 'optional'], 'the payload');
  const critical = object(top.critical, 'critical');
  exactKeys(critical, ['type', 'image', 'identity'], 'critical');
  const want = type;
  const signedType = string(critical.type, 'critical.type');
  if (signedType !== want) throw bad(`critical.type is ${JSON.stringify(signedType)}, not "${want}"`);
  const image = object(critical.image, 'critical.image');
  exactKeys(image, ['docker-manifest-digest'], 'critical.image');
  const manifestDigest = string(image['docker-manifest-digest'], 'critical.image.docker-manifest-digest');
  if (!DIGEST_RE.test(manifestDigest))
    throw bad(`critical.image.docker-manifest-digest ${JSON.stringify(manifestDigest.slice(0, 80))} is not a valid digest`);
  const identity = object(critical.identity, 'critical.identity');
  exactKeys(identity, ['docker-reference'], 'critical.identity');
  const dockerReference = string(identity['docker-reference'], 'critical.identity.docker-reference');
  // cosign marshals an empty optional as null; simple signing always writes an object
  const optional = want === COSIGN_SIGNATURE_TYPE && top.optional === null ? {} : object(top.optional, 'optional');
  const claims: SignedClaims = { dockerReference, manifestDigest };
  if ('creator' in optional) claims.creator = string(optional.creator, 'optional.creator');
  if ('timestamp' in optional) {
    const t = optional.timestamp;
    if (typeof t !== 'number' || !Number.isSafeInteger(t)) throw bad('optional.timestamp must be an integer');
    claims.timestamp = t;
  }
  return claims;
}
