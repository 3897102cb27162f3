/**
 * Every refusal in airlock carries a stable code. The code is part of the
 * public contract (API answers, CLI exit lines, audit events): renaming one
 * is a breaking change.
 */
export const ERROR_CODES = [
  // references and input
  'INVALID_REFERENCE',
  'INVALID_DIGEST',
  'INVALID_ARGUMENT',
  'CONFIG_INVALID',
  'STAGE_UNKNOWN',
  'PROMOTION_ROUTE_UNKNOWN',
  'PLATFORM_UNKNOWN',
  // registries
  'REGISTRY_UNAVAILABLE',
  'REGISTRY_UNAUTHORIZED',
  'REGISTRY_DENIED',
  'REGISTRY_PROTOCOL',
  'REGISTRY_TLS_UNTRUSTED',
  'MANIFEST_UNKNOWN',
  'MANIFEST_INVALID',
  'MANIFEST_UNSUPPORTED',
  'BLOB_UNKNOWN',
  'BLOB_DIGEST_MISMATCH',
  'BLOB_UPLOAD_FAILED',
  // signatures
  'SIGNATURE_REQUIRED',
  'SIGNATURE_INVALID',
  'SIGNATURE_UNTRUSTED_KEY',
  'SIGNATURE_FORMAT',
  'SIGNATURE_PAYLOAD_INVALID',
  'SIGNATURE_DIGEST_MISMATCH',
  'SIGNATURE_IDENTITY_MISMATCH',
  'SIGNATURE_EXPIRED',
  'SIGNATURE_KEY_REVOKED',
  'SIGNATURE_KEYLESS_UNSUPPORTED',
  'SIGNATURE_TOO_LARGE',
  'KEY_INVALID',
  'KEY_PASSPHRASE',
  'KEY_MISSING',
  'LOOKASIDE_UNAVAILABLE',
  'LOOKASIDE_INVALID',
  // bundles
  'BUNDLE_INVALID',
  'BUNDLE_WRITE_FAILED',
  'BUNDLE_VOLUME_MISSING',
  'BUNDLE_VOLUME_CORRUPT',
  'BUNDLE_DECRYPT_FAILED',
  'BUNDLE_CORRUPT',
  'BUNDLE_UNTRUSTED_SENDER',
  'BUNDLE_UNSAFE_ENTRY',
  'BUNDLE_ENTRY_UNLISTED',
  'BUNDLE_DIGEST_MISMATCH',
  'BUNDLE_TOO_LARGE',
  'BUNDLE_INCOMPLETE',
  'BUNDLE_REPLAY',
  'BUNDLE_EXPIRED',
  'BUNDLE_NOT_YET_VALID',
  'BUNDLE_LIFETIME_TOO_LONG',
  'BUNDLE_TRUNCATED',
  'BUNDLE_TRAILING_DATA',
  'BUNDLE_COMPRESSED',
  'BUNDLE_IMPORT_BUSY',
  'BUNDLE_EXPORT_BUSY',
  'BUNDLE_IMPORT_TIMEOUT',
  'BUNDLE_NOTHING_TO_EXPORT',
  'CHANNEL_UNKNOWN',
  // service
  'DATABASE_UNAVAILABLE',
  'DATABASE_FULL',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'SELF_APPROVAL_FORBIDDEN',
  'PROMOTION_NOT_FOUND',
  'PROMOTION_STATE',
  'QUEUE_UNAVAILABLE',
  'RATE_LIMITED',
  'INVALID_SORT',
  'NOT_FOUND',
  'CHECKPOINT_INVALID',
  'AUDIT_CHAIN_BROKEN',
  // the command line as a client of a running airlock
  'API_UNAVAILABLE',
  'PROMOTION_REJECTED',
  'PROMOTION_CANCELLED',
  // anything we did not foresee
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** Base of every domain error: a stable code and a one-line message a person can act on. */
export class AirlockError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }

  /** Plain form for logs, API answers and audit events (no stack, no cause chain). */
  toJSON(): { code: ErrorCode; message: string; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/** True when `e` is an AirlockError (across module copies too). */
export function isAirlockError(e: unknown): e is AirlockError {
  return (
    e instanceof AirlockError ||
    (typeof e === 'object' &&
      e !== null &&
      'code' in e &&
      (ERROR_CODES as readonly string[]).includes(String(e.code)) &&
      e instanceof Error)
  );
}

const AUDITED = Symbol.for('airlock.audited');

/** Marks an error as already written to the audit log (so the API does not record it twice). */
export function markAudited<T>(e: T): T {
  if (typeof e === 'object' && e !== null) (e as Record<symbol, boolean>)[AUDITED] = true;
  return e;
}

/** True when the error was already written to the audit log. */
export function wasAudited(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as Record<symbol, boolean>)[AUDITED] === true;
}
