import { ErrorCode, isAirlockError } from '@airlock/common';

/**
 * Exit codes of every airlock command (documented in the README):
 *   0 success; 1 unexpected failure; 2 usage or invalid input;
 *   3 registry or service unavailable; 4 refused credentials or access;
 *   5 content integrity (digest mismatch, invalid manifest);
 *   6 signature or policy refusal; 7 some items of a batch failed;
 *   8 a promotion waited for was rejected or cancelled.
 */
export const EXIT = {
  ok: 0,
  internal: 1,
  usage: 2,
  unavailable: 3,
  denied: 4,
  integrity: 5,
  signature: 6,
  partial: 7,
  declined: 8,
} as const;

const BY_CODE: Partial<Record<ErrorCode, number>> = {
  INVALID_REFERENCE: EXIT.usage,
  INVALID_DIGEST: EXIT.usage,
  INVALID_ARGUMENT: EXIT.usage,
  CONFIG_INVALID: EXIT.usage,
  STAGE_UNKNOWN: EXIT.usage,
  KEY_MISSING: EXIT.usage,
  LOOKASIDE_INVALID: EXIT.usage,
  REGISTRY_UNAVAILABLE: EXIT.unavailable,
  LOOKASIDE_UNAVAILABLE: EXIT.unavailable,
  REGISTRY_UNAUTHORIZED: EXIT.denied,
  REGISTRY_DENIED: EXIT.denied,
  REGISTRY_PROTOCOL: EXIT.unavailable,
  REGISTRY_TLS_UNTRUSTED: EXIT.denied,
  MANIFEST_UNKNOWN: EXIT.integrity,
  MANIFEST_INVALID: EXIT.integrity,
  MANIFEST_UNSUPPORTED: EXIT.integrity,
  BLOB_UNKNOWN: EXIT.integrity,
  BLOB_DIGEST_MISMATCH: EXIT.integrity,
  BLOB_UPLOAD_FAILED: EXIT.unavailable,
  AUDIT_CHAIN_BROKEN: EXIT.integrity,
  CHECKPOINT_INVALID: EXIT.integrity,
  INVALID_SORT: EXIT.usage,
  CHANNEL_UNKNOWN: EXIT.usage,
  BUNDLE_NOTHING_TO_EXPORT: EXIT.usage,
  BUNDLE_WRITE_FAILED: EXIT.unavailable,
  BUNDLE_IMPORT_BUSY: EXIT.unavailable,
  BUNDLE_EXPORT_BUSY: EXIT.unavailable,
  BUNDLE_IMPORT_TIMEOUT: EXIT.unavailable,
  QUEUE_UNAVAILABLE: EXIT.unavailable,
  DATABASE_UNAVAILABLE: EXIT.unavailable,
  DATABASE_FULL: EXIT.unavailable,
  RATE_LIMITED: EXIT.unavailable,
  PROMOTION_ROUTE_UNKNOWN: EXIT.usage,
  PLATFORM_UNKNOWN: EXIT.usage,
  PROMOTION_NOT_FOUND: EXIT.usage,
  PROMOTION_STATE: EXIT.usage,
  NOT_FOUND: EXIT.usage,
  UNAUTHENTICATED: EXIT.denied,
  FORBIDDEN: EXIT.denied,
  SELF_APPROVAL_FORBIDDEN: EXIT.denied,
  API_UNAVAILABLE: EXIT.unavailable,
  PROMOTION_REJECTED: EXIT.declined,
  PROMOTION_CANCELLED: EXIT.declined,
};

/** The exit code for an error: by its domain code, signature codes as one class. */
export function exitCodeFor(err: unknown): number {
  if (!isAirlockError(err)) return EXIT.internal;
  if (BY_CODE[err.code] !== undefined) return BY_CODE[err.code] as number;
  if (err.code.startsWith('SIGNATURE_') || err.code.startsWith('KEY_')) return EXIT.signature;
  if (err.code.startsWith('BUNDLE_')) return EXIT.integrity;
  return EXIT.internal;
}

/** Ends a command that failed: its one line on standard error and its exit code. */
export function reportFailure(err: unknown): void {
  process.stderr.write(errorLine(err) + '\n');
  process.exitCode = exitCodeFor(err);
}

/** One line a person can act on: `airlock: CODE: message` (no stack unless AIRLOCK_DEBUG is set). */
export function errorLine(err: unknown): string {
  const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ').trim();
  if (isAirlockError(err)) return `airlock: ${err.code}: ${oneLine(err.message)}`;
  const msg = err instanceof Error ? err.message : String(err);
  return `airlock: INTERNAL: ${oneLine(msg)}${process.env.AIRLOCK_DEBUG && err instanceof Error ? `\n${err.stack}` : ''}`;
}
