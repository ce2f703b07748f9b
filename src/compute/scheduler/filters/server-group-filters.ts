import type { HostFilter } from './filter.js';

/**
 * Nova's ServerGroupAffinityFilter: a member of an 'affinity' group goes to a host that
 * already holds a member of the group (any host while none is placed).
 */
export const serverGroupAffinityFilter: HostFilter = {
  name: 'ServerGroupAffinityFilter',
  prepare(spec) {
    const g = spec.group;
    if (g === undefined || g.policy !== 'affinity' || g.hosts.size === 0) return null;
    return (h) => g.hosts.has(h.host);
  },
};

/**
 * Nova's ServerGroupAntiAffinityFilter: a member of an 'anti-affinity' group goes to a host
 * with fewer than rules.max_server_per_host (default 1) members of the group.
 */
export const serverGroupAntiAffinityFilter: HostFilter = {
  name: 'ServerGroupAntiAffinityFilter',
  prepare(spec) {
    const g = spec.group;
    if (g === undefined || g.policy !== 'anti-affinity' || g.hosts.size === 0) return null;
    const max = g.rules['max_server_per_host'] ?? 1;
    return (h) => (g.hosts.get(h.host) ?? 0) < max;
  },
};
