import type { HostFilter } from './filter.js';

/** Nova's ComputeFilter: the node's compute service is up (isServiceUp) and not disabled. */
export const computeFilter: HostFilter = {
  name: 'ComputeFilter',
  prepare: () => (h) => h.service.up && !h.service.disabled,
};
