import type { Config } from '../../../config/options.js';
import { ConfigError } from '../../../errors.js';
import type { HostState } from '../host-state.js';
import type { HostWeigher } from './weigher.js';

export type { HostWeigher } from './weigher.js';

type Section = Config['filter_scheduler'];

const MAKERS: Readonly<Record<string, (c: Section) => HostWeigher>> = {
  RAMWeigher: (c) => ({ name: 'RAMWeigher', multiplier: c.ram_weight_multiplier, raw: (h: HostState) => h.freeRamMb }),
  CPUWeigher: (c) => ({ name: 'CPUWeigher', multiplier: c.cpu_weight_multiplier, raw: (h: HostState) => h.freeVcpus }),
  DiskWeigher: (c) => ({ name: 'DiskWeigher', multiplier: c.disk_weight_multiplier, raw: (h: HostState) => h.freeDiskGb }),
};

/**
 * The weighers `[filter_scheduler] weight_classes` names (bare or dotted class names;
 * `nova.scheduler.weights.all_weighers` means all). A zero multiplier leaves a weigher out.
 */
export function weighersFromConfig(section: Section): HostWeigher[] {
  const names = new Set<string>();
  for (const raw of section.weight_classes) {
    const name = raw.split('.').pop() ?? raw;
    if (name === 'all_weighers') {
      for (const n of Object.keys(MAKERS)) names.add(n);
      continue;
    }
    if (!(name in MAKERS)) {
      throw new ConfigError(`[filter_scheduler] weight_classes: unknown weigher "${raw}"; available: ${Object.keys(MAKERS).join(', ')}, all_weighers`, {
        section: 'filter_scheduler',
        option: 'weight_classes',
      });
    }
    names.add(name);
  }
  return [...names].map((n) => (MAKERS[n] as (c: Section) => HostWeigher)(section)).filter((w) => w.multiplier !== 0);
}
