import { AirlockError, ErrorCode } from '@airlock/common';

/** A signature, key or lookaside refusal, with a stable code. */
export class SignatureError extends AirlockError {
  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(code, message, details, options);
  }
}
