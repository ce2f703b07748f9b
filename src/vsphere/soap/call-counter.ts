import type { RoundTripper, SoapCall } from './round-tripper.js';

/** Counts round trips (each attempt that reaches the transport), in total and per method. */
export class CallCounter implements RoundTripper {
  #total = 0;
  readonly #byMethod = new Map<string, number>();

  constructor(private readonly inner: RoundTripper) {}

  get total(): number {
    return this.#total;
  }

  count(method: string): number {
    return this.#byMethod.get(method) ?? 0;
  }

  byMethod(): Record<string, number> {
    return Object.fromEntries(this.#byMethod);
  }

  reset(): void {
    this.#total = 0;
    this.#byMethod.clear();
  }

  roundTrip(call: SoapCall): Promise<unknown> {
    this.#total++;
    this.#byMethod.set(call.method, (this.#byMethod.get(call.method) ?? 0) + 1);
    return this.inner.roundTrip(call);
  }
}
