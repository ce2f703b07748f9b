import { errorMessage, isPolyvisorError } from '../../../errors.js';

/** Fault text for an error: the message, with the stable code when there is one. */
export function faultDetails(err: unknown): string {
  if (isPolyvisorError(err)) return `${err.name} (${err.code}): ${err.message}`;
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

export function faultMessage(err: unknown): string {
  return errorMessage(err);
}

export function isRetryable(err: unknown): boolean {
  return isPolyvisorError(err) && err.retryable;
}
