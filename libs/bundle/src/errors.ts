import { AirlockError, ErrorCode } from '@airlock/common';

/** A refusal while writing or reading a transfer bundle, with a stable code. */
export class BundleError extends AirlockError {
  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(code, message, details, options);
  }
}
