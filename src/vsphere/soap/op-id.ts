import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { RoundTripper, SoapCall } from './round-tripper.js';

const requestContext = new AsyncLocalStorage<string>();

/**
 * Runs `fn` with an API request id in context: every vSphere call made inside it gets an
 * opID ending in that id (`polyvisor-<uuid>-req-...`), so an operator can go from the API
 * request to the vCenter log lines it caused, and the call's log line carries it too.
 */
export function withRequestId<T>(requestId: string, fn: () => T): T {
  return requestContext.run(requestId, fn);
}

export function currentRequestId(): string | undefined {
  return requestContext.getStore();
}

export function newOpId(requestId = currentRequestId()): string {
  return requestId === undefined ? `polyvisor-${randomUUID()}` : `polyvisor-${randomUUID()}-${requestId}`;
}

/** Gives every call an opID (unless the caller chose one), before retries so they share it. */
export class OpIdRoundTripper implements RoundTripper {
  constructor(private readonly inner: RoundTripper) {}

  roundTrip(call: SoapCall): Promise<unknown> {
    return this.inner.roundTrip(call.opId === undefined ? { ...call, opId: newOpId() } : call);
  }
}
