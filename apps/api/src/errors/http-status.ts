import { ErrorCode } from '@airlock/common';

/** HTTP status for each domain error code; the one place codes meet HTTP. */
const STATUS: Partial<Record<ErrorCode, number>> = {
  INVALID_REFERENCE: 400,
  INVALID_DIGEST: 400,
  INVALID_ARGUMENT: 400,
  CONFIG_INVALID: 500,
  STAGE_UNKNOWN: 404,
  PROMOTION_ROUTE_UNKNOWN: 400,
  KEY_MISSING: 409,
  KEY_INVALID: 500,
  KEY_PASSPHRASE: 500,
  MANIFEST_UNKNOWN: 404,
  BLOB_UNKNOWN: 404,
  REGISTRY_UNAVAILABLE: 502,
  REGISTRY_UNAUTHORIZED: 502,
  REGISTRY_DENIED: 502,
  REGISTRY_PROTOCOL: 502,
  REGISTRY_TLS_UNTRUSTED: 502,
  LOOKASIDE_UNAVAILABLE: 502,
  LOOKASIDE_INVALID: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  SELF_APPROVAL_FORBIDDEN: 403,
  PROMOTION_NOT_FOUND: 404,
  PROMOTION_STATE: 409,
  RATE_LIMITED: 429,
  QUEUE_UNAVAILABLE: 503,
  DATABASE_UNAVAILABLE: 503,
  INVALID_SORT: 400,
  CHECKPOINT_INVALID: 422,
  NOT_FOUND: 404,
  CHANNEL_UNKNOWN: 404,
  BUNDLE_NOTHING_TO_EXPORT: 409,
  BUNDLE_WRITE_FAILED: 507,
};

/** The status for a code: signature refusals are 422, unknown codes 500. */
export function httpStatusFor(code: ErrorCode): number {
  if (STATUS[code]) return STATUS[code] as number;
  if (code.startsWith('SIGNATURE_') || code.startsWith('BLOB_') || code.startsWith('MANIFEST_') || code.startsWith('BUNDLE_')) return 422;
  return 500;
}
