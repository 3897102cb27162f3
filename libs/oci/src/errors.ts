import { AirlockError, ErrorCode } from '@airlock/common';

/** A refusal or failure while talking to a registry or handling OCI content. */
export class RegistryError extends AirlockError {
  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(code, message, details, options);
  }
}
