import type { FlavorRow } from '../../../db/schema.js';
import { compareVersions, type ApiVersion } from '../microversion.js';
import type { Linker } from '../request.js';

/** What a flavor view depends on beyond the row: the request's version and, from 2.61, the flavor's extra specs. */
export interface FlavorViewOptions {
  readonly version: ApiVersion;
  readonly extraSpecs?: Readonly<Record<string, string>>;
}

const at = (v: ApiVersion, minor: number) => compareVersions(v, { major: 2, minor }) >= 0;

/** Nova's flavor views: the short form for lists (plus description from 2.55), the full form elsewhere. */
export function flavorSummary(f: FlavorRow, linker: Linker, o: FlavorViewOptions) {
  return { id: f.flavorid, name: f.name, ...(at(o.version, 55) ? { description: f.description } : {}), links: linker.links('flavors', f.flavorid) };
}

/** 2.55 adds description, 2.61 extra_specs, 2.75 shows a swap of 0 as 0 (before, as an empty string). */
export function flavorDetail(f: FlavorRow, linker: Linker, o: FlavorViewOptions) {
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
    swap: f.swap === 0 && !at(o.version, 75) ? '' : f.swap,
    rxtx_factor: f.rxtx_factor,
    ...(at(o.version, 55) ? { description: f.description } : {}),
    ...(at(o.version, 61) && o.extraSpecs ? { extra_specs: o.extraSpecs } : {}),
  };
}
