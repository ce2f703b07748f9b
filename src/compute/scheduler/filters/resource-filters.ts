import type { HostFilter } from './filter.js';

/*
 * The resource checks Nova's placement makes, as filters: the request fits when
 * used + request ≤ (capacity − reserved) × allocation ratio (HostState's limits, computed
 * exactly as the claim's SQL computes them). A zero request is not checked.
 */

export const ramFilter: HostFilter = {
  name: 'RamFilter',
  prepare(spec) {
    const m = spec.memoryMb;
    return m > 0 ? (h) => h.memoryMbUsed + m <= h.ramLimit : null;
  },
};

export const coreFilter: HostFilter = {
  name: 'CoreFilter',
  prepare(spec) {
    const v = spec.vcpus;
    return v > 0 ? (h) => h.vcpusUsed + v <= h.vcpuLimit : null;
  },
};

export const diskFilter: HostFilter = {
  name: 'DiskFilter',
  prepare(spec) {
    const d = spec.diskGb;
    return d > 0 ? (h) => h.localGbUsed + d <= h.diskLimit : null;
  },
};
