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

/**
 * A task that could not reach its hypervisor (a retryable driver failure) and keeps its
 * task_state: the task loop runs it again after a growing delay. Only tasks whose
 * user intent survives a retry use it (a delete: the user asked for the server to go).
 */
export class RetryLater extends Error {
  constructor(readonly reason: unknown) {
    super(errorMessage(reason));
    this.name = 'RetryLater';
  }
}
