import type { Logger } from '../../log.js';
import { PolyvisorError } from '../../errors.js';
import { VsphereTransportError } from './errors.js';
import type { RoundTripper, SoapCall } from './round-tripper.js';

export interface RetryOptions {
  /** How many times to try again after the first attempt ([vmware] api_retry_count). */
  readonly retryCount: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
}

/**
 * Retries transient failures with exponential backoff and jitter. A call that is not
 * idempotent is retried only when the failure proves the request never left (connection
 * refused): creating a VM twice is worse than reporting an error once.
 */
export class RetryRoundTripper implements RoundTripper {
  readonly #base: number;
  readonly #max: number;

  constructor(
    private readonly inner: RoundTripper,
    private readonly options: RetryOptions,
    private readonly log: Logger,
  ) {
    this.#base = options.baseDelayMs ?? 200;
    this.#max = options.maxDelayMs ?? 10_000;
  }

  async roundTrip(call: SoapCall): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.inner.roundTrip(call);
      } catch (err) {
        if (attempt >= this.options.retryCount || !retryable(err, call) || call.signal?.aborted === true) throw err;
        const delay = Math.min(this.#max, this.#base * 2 ** attempt) * (0.5 + Math.random() / 2);
        this.log.warn({ method: call.method, opId: call.opId, attempt: attempt + 1, delayMs: Math.round(delay), err: (err as Error).message }, 'retrying vSphere call');
        await sleep(delay, call.signal);
      }
    }
  }
}

function retryable(err: unknown, call: SoapCall): boolean {
  if (!(err instanceof PolyvisorError) || !err.retryable) return false;
  if (call.idempotent) return true;
  return err instanceof VsphereTransportError && !err.sent;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
