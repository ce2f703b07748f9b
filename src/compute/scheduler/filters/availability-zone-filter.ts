import type { HostFilter } from './filter.js';

/**
 * Nova's AvailabilityZoneFilter: the node is in the requested zone (a node without one is in
 * [DEFAULT] default_availability_zone). An admin's `zone:host` or `zone:host:node` also pins
 * the host (and node), as Nova's forced-host syntax does; so do 2.74's `host` and
 * `hypervisor_hostname` (kept in requested_host / requested_node).
 */
export const availabilityZoneFilter: HostFilter = {
  name: 'AvailabilityZoneFilter',
  prepare(spec, ctx) {
    const reqHost = spec.requestedHost ?? null;
    const reqNode = spec.requestedNode ?? null;
    if ((spec.availabilityZone === null || spec.availabilityZone === '') && reqHost === null && reqNode === null) return null;
    const [zone = '', azHost, azNode] = (spec.availabilityZone ?? '').split(':');
    const host = reqHost ?? azHost;
    const node = reqNode ?? azNode;
    const def = ctx.defaultAvailabilityZone;
    return (h) =>
      (zone === '' || (h.availabilityZone ?? def) === zone) &&
      (host === undefined || host === '' || h.host === host) &&
      (node === undefined || node === '' || h.nodename === node);
  },
};
