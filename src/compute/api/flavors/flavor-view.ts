import type { FlavorRow } from '../../../db/schema.js';
import type { Linker } from '../request.js';

/** Nova's flavor views at 2.1: the short form for lists, the full form elsewhere. */
export function flavorSummary(f: FlavorRow, linker: Linker) {
  return { id: f.flavorid, name: f.name, links: linker.links('flavors', f.flavorid) };
}

export function flavorDetail(f: FlavorRow, linker: Linker) {
  return {
    id: f.flavorid,
    name: f.name,
    ram: f.memory_mb,
    disk: f.root_gb,
    vcpus: f.vcpus,
    links: linker.links('flavors', f.flavorid),
    'OS-FLV-EXT-DATA:ephemeral': f.ephemeral_gb,
    'OS-FLV-DISABLED:disabled': f.disabled === 1,
    'os-flavor-access:is_public': f.is_public === 1,
    // Before 2.75 Nova shows a swap of 0 as an empty string.
    swap: f.swap === 0 ? '' : f.swap,
    rxtx_factor: f.rxtx_factor,
  };
}
