import type { HostFilter } from './filter.js';

/**
 * Nova's DifferentHostFilter: with the `different_host` hint, only hosts that hold none of
 * the named servers pass.
 */
export const differentHostFilter: HostFilter = {
  name: 'DifferentHostFilter',
  prepare(spec) {
    const avoid = spec.differentHosts;
    if (avoid === undefined || avoid.size === 0) return null;
    return (h) => !avoid.has(h.host);
  },
};

/**
 * Nova's SameHostFilter: with the `same_host` hint, only hosts that hold one of the named
 * servers pass (any host when none of them is placed).
 */
export const sameHostFilter: HostFilter = {
  name: 'SameHostFilter',
  prepare(spec) {
    const keep = spec.sameHosts;
    if (keep === undefined || keep.size === 0) return null;
    return (h) => keep.has(h.host);
  },
};
