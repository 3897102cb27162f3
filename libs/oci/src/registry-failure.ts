import type { Dispatcher } from 'undici';
import { RegistryError } from './errors';
import { isTransientStatus } from './retry';

/**
 * A registry's refusal as one of our codes: the status, and the registry's
 * own error code from its JSON body (distribution's `errors[]`), mapped to
 * credentials, access, not found, digest, manifest, transient or protocol.
 */
export async function registryFailure(
  registry: string,
  res: Dispatcher.ResponseData,
  what: string,
  notFound: 'MANIFEST_UNKNOWN' | 'BLOB_UNKNOWN' | 'BLOB_UPLOAD_FAILED' = 'MANIFEST_UNKNOWN',
): Promise<RegistryError> {
  let detail = '';
  let regCode = '';
  try {
    const text = (await res.body.text()).slice(0, 2000);
    const j = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
    regCode = j.errors?.[0]?.code ?? '';
    detail = j.errors?.map((e) => `${e.code}: ${e.message}`).join('; ') ?? '';
  } catch {
    /* not JSON */
  }
  const s = res.statusCode;
  const tail = detail ? ` (${detail})` : '';
  const details = { status: s, registryCode: regCode || undefined };
  if (s === 401)
    return new RegistryError('REGISTRY_UNAUTHORIZED', `registry ${registry} refused the credentials for ${what}${tail}`, details);
  if (s === 403) return new RegistryError('REGISTRY_DENIED', `registry ${registry} denied ${what}${tail}`, details);
  if (s === 404) return new RegistryError(notFound, `${what}: not found on ${registry}${tail}`, details);
  if (regCode === 'DIGEST_INVALID' || (regCode === 'BLOB_UPLOAD_INVALID' && /digest/i.test(detail))) {
    return new RegistryError(
      'BLOB_DIGEST_MISMATCH',
      `registry ${registry} refused ${what}: content does not match its digest${tail}`,
      details,
    );
  }
  if (regCode === 'MANIFEST_BLOB_UNKNOWN' || regCode === 'MANIFEST_INVALID' || regCode === 'BLOB_UNKNOWN') {
    return new RegistryError('MANIFEST_INVALID', `registry ${registry} refused ${what}${tail}`, details);
  }
  if (isTransientStatus(s))
    return new RegistryError('REGISTRY_UNAVAILABLE', `registry ${registry} answered ${s} for ${what}${tail}`, details);
  return new RegistryError('REGISTRY_PROTOCOL', `registry ${registry} answered ${s} for ${what}${tail}`, details);
}
