import type { HostState } from '../host-state.js';

/**
 * A Nova weigher: a raw value per host; the selector normalises each weigher's values to
 * [0, 1] across the candidates and sums them times the multiplier (positive spreads,
 * negative stacks), as nova.weights does.
 */
export interface HostWeigher {
  readonly name: string;
  readonly multiplier: number;
  raw(host: HostState): number;
}
