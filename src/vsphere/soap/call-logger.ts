import type { Logger } from '../../log.js';
import { PolyvisorError } from '../../errors.js';
import { morefKey } from '../types/moref.js';
import { VimFault } from './fault.js';
import { currentRequestId } from './op-id.js';
import type { RoundTripper, SoapCall } from './round-tripper.js';

/**
 * One debug line per attempt: method, target reference, opID, duration and outcome, plus
 * the API request id when there is one. Parameters are never logged (Login carries a
 * password), only the method and its target.
 */
export class CallLogger implements RoundTripper {
  constructor(
    private readonly inner: RoundTripper,
    private readonly log: Logger,
  ) {}

  async roundTrip(call: SoapCall): Promise<unknown> {
    if (!this.log.isLevelEnabled('debug')) return this.inner.roundTrip(call);
    const started = performance.now();
    const line = { method: call.method, target: morefKey(call.this), opId: call.opId, requestId: currentRequestId() };
    try {
      const result = await this.inner.roundTrip(call);
      this.log.debug({ ...line, durationMs: round(performance.now() - started), outcome: 'ok' }, 'vSphere call');
      return result;
    } catch (err) {
      const outcome = err instanceof VimFault ? `fault:${err.faultType}` : err instanceof PolyvisorError ? `error:${err.code}` : 'error';
      this.log.debug({ ...line, durationMs: round(performance.now() - started), outcome }, 'vSphere call');
      throw err;
    }
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
