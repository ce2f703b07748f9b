import { ConfigError } from '../../../errors.js';
import { availabilityZoneFilter } from './availability-zone-filter.js';
import { computeCapabilitiesFilter } from './compute-capabilities-filter.js';
import { computeFilter } from './compute-filter.js';
import type { HostFilter } from './filter.js';
import { differentHostFilter, sameHostFilter } from './host-hint-filters.js';
import { imagePropertiesFilter } from './image-properties-filter.js';
import { coreFilter, diskFilter, ramFilter } from './resource-filters.js';
import { serverGroupAffinityFilter, serverGroupAntiAffinityFilter } from './server-group-filters.js';

export type { FilterContext, HostFilter } from './filter.js';

const ALL: readonly HostFilter[] = [
  computeFilter,
  availabilityZoneFilter,
  computeCapabilitiesFilter,
  imagePropertiesFilter,
  ramFilter,
  coreFilter,
  diskFilter,
  serverGroupAffinityFilter,
  serverGroupAntiAffinityFilter,
  differentHostFilter,
  sameHostFilter,
];

/**
 * The filters `[filter_scheduler] enabled_filters` names, in that order. Nova's class names,
 * bare or dotted (nova.scheduler.filters.ram_filter.RamFilter). An unknown name stops start-up.
 */
export function filtersFromConfig(names: readonly string[]): HostFilter[] {
  return names.map((raw) => {
    const name = raw.split('.').pop() ?? raw;
    const f = ALL.find((x) => x.name === name);
    if (!f) {
      throw new ConfigError(
        `[filter_scheduler] enabled_filters: unknown filter "${raw}"; available: ${ALL.map((x) => x.name).join(', ')}`,
        { section: 'filter_scheduler', option: 'enabled_filters' },
      );
    }
    return f;
  });
}
