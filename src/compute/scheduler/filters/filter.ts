import type { HostState } from '../host-state.js';
import type { RequestSpec } from '../request-spec.js';

/** Facts a filter may need besides the host and the request. */
export interface FilterContext {
  readonly defaultAvailabilityZone: string;
}

/**
 * A scheduler filter, named as Nova names it. `prepare` does the per-request work once
 * (parsing image properties, extra specs) and returns the per-host test, or null when the
 * filter has nothing to check for this request, so that it costs nothing per host.
 */
export interface HostFilter {
  readonly name: string;
  prepare(spec: RequestSpec, ctx: FilterContext): ((host: HostState) => boolean) | null;
}
