import type { InstanceGroupPlacement } from '../../../db/repos/server-groups.js';
import type { HostState } from '../host-state.js';

/**
 * Nova's ServerGroupSoftAffinityWeigher and ServerGroupSoftAntiAffinityWeigher, applied to
 * the hosts the filters and the other weighers already ranked: the member count of the
 * group on each host, normalised to [0, 1] across the candidates (nova.weights.normalize)
 * times the multiplier, positive for soft-affinity (stack on members) and negative for
 * soft-anti-affinity (spread), added to the host's rank. The other weighers' order counts
 * as a rank in [0, 1] (first = 1), so with multipliers of 1 the group policy decides and
 * the usual ranking breaks ties. A multiplier of 0 leaves the order alone.
 */
export function softGroupOrder(
  ranked: readonly HostState[],
  group: InstanceGroupPlacement,
  multipliers: { readonly softAffinity: number; readonly softAntiAffinity: number },
): HostState[] {
  const soft = group.policy === 'soft-affinity' ? multipliers.softAffinity : group.policy === 'soft-anti-affinity' ? -multipliers.softAntiAffinity : 0;
  if (soft === 0 || ranked.length <= 1 || group.hosts.size === 0) return [...ranked];
  const counts = ranked.map((h) => group.hosts.get(h.host) ?? 0);
  const min = Math.min(...counts);
  const max = Math.max(...counts);
  if (max === min) return [...ranked];
  const n = ranked.length;
  // The group term dominates: anything above the [0, 1) spread of the base rank wins.
  const scored = ranked.map((h, i) => ({ h, w: 2 * soft * (((counts[i] as number) - min) / (max - min)) + (n - i) / n }));
  scored.sort((a, b) => b.w - a.w);
  return scored.map((s) => s.h);
}

export function isSoftPolicy(group: InstanceGroupPlacement | undefined): boolean {
  return group !== undefined && (group.policy === 'soft-affinity' || group.policy === 'soft-anti-affinity');
}
