import type { HostFilter } from './filter.js';

/**
 * Nova's SameHostFilter: with the `same_host` hint (server uuids), a host passes when it runs
 * at least one of those servers. Without the hint every host passes.
 */
export const sameHostFilter: HostFilter = {
  name: 'SameHostFilter',
  prepare(spec) {
    const hosts = spec.sameHost;
    if (hosts === undefined) return null;
    return (h) => hosts.has(h.host);
  },
};

/**
 * Nova's DifferentHostFilter: with the `different_host` hint (server uuids), a host passes when
 * it runs none of those servers.
 */
export const differentHostFilter: HostFilter = {
  name: 'DifferentHostFilter',
  prepare(spec) {
    const hosts = spec.differentHost;
    if (hosts === undefined || hosts.size === 0) return null;
    return (h) => !hosts.has(h.host);
  },
};
