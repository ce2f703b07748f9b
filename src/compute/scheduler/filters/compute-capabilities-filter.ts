import type { HostState } from '../host-state.js';
import { matchExtraSpec } from './extra-specs-ops.js';
import type { HostFilter } from './filter.js';

/**
 * Nova's ComputeCapabilitiesFilter: every flavor extra spec in the `capabilities:` scope, or
 * without a scope, must match the node's attribute of that name (nested with ':', e.g.
 * `capabilities:cpu_info:arch`), compared by extra_specs_ops. Specs of other scopes
 * (`hw:`, `quota:`, `vmware:` ...) belong to other parts and are ignored here.
 */
export const computeCapabilitiesFilter: HostFilter = {
  name: 'ComputeCapabilitiesFilter',
  prepare(spec) {
    const wanted: { path: string[]; req: string }[] = [];
    for (const [key, req] of Object.entries(spec.flavor.extra_specs)) {
      const scope = key.split(':');
      if (scope.length > 1) {
        if (scope[0] !== 'capabilities') continue;
        scope.shift();
      }
      wanted.push({ path: scope, req });
    }
    if (wanted.length === 0) return null;
    return (h) => wanted.every((w) => matchExtraSpec(attribute(h, w.path), w.req));
  },
};

function attribute(h: HostState, path: readonly string[]): string | undefined {
  let cur: unknown = h.capabilities;
  for (const p of path) {
    if (!cur || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  if (cur === undefined || cur === null) return undefined;
  return typeof cur === 'string' ? cur : typeof cur === 'number' || typeof cur === 'boolean' ? String(cur) : JSON.stringify(cur);
}
