import type { HostFilter } from './filter.js';

/**
 * Nova's AvailabilityZoneFilter: the node is in the requested zone (a node without one is in
 * [DEFAULT] default_availability_zone). An admin's `zone:host` or `zone:host:node` also pins
 * the host (and node), as Nova's forced-host syntax does.
 */
export const availabilityZoneFilter: HostFilter = {
  name: 'AvailabilityZoneFilter',
  prepare(spec, ctx) {
    if (spec.availabilityZone === null || spec.availabilityZone === '') return null;
    const [zone = '', host, node] = spec.availabilityZone.split(':');
    const def = ctx.defaultAvailabilityZone;
    return (h) =>
      (zone === '' || (h.availabilityZone ?? def) === zone) &&
      (host === undefined || host === '' || h.host === host) &&
      (node === undefined || node === '' || h.nodename === node);
  },
};
