import type { InstanceGroupPlacement } from '../../db/repos/server-groups.js';
import type { FlavorSnapshot } from '../states.js';

/** What one instance asks of the scheduler, parsed once from its row. */
export interface RequestSpec {
  readonly instanceUuid: string;
  readonly flavor: FlavorSnapshot;
  readonly vcpus: number;
  readonly memoryMb: number;
  /** root + ephemeral + swap rounded up to GB, as Nova asks placement for DISK_GB. */
  readonly diskGb: number;
  /** Requested zone, possibly `zone:host` or `zone:host:node` (admin forced host). */
  readonly availabilityZone: string | null;
  readonly imageProperties: Readonly<Record<string, string>>;
  /** Nodes already tried for this build. */
  readonly retryNodes: ReadonlySet<string>;
  /** The instance's server group (policy, rules, where its other members are), if any. */
  readonly group?: InstanceGroupPlacement;
  /** A host (and node) the request names: an admin's zone:host[:node] or 2.74's host / hypervisor_hostname. */
  readonly requestedHost?: string | null;
  readonly requestedNode?: string | null;
  /** Hosts of the servers named by the same_host / different_host hints (undefined: no such hint). */
  readonly sameHost?: ReadonlySet<string>;
  readonly differentHost?: ReadonlySet<string>;
}

export class InvalidRequestSpecError extends Error {}

/** The stored same_host / different_host hints: the server uuids each names. */
export function parseHostHints(text: string | null): { sameHost?: string[] | undefined; differentHost?: string[] | undefined } {
  if (text === null) return {};
  try {
    const v = JSON.parse(text) as Record<string, unknown>;
    const list = (x: unknown) => (Array.isArray(x) ? x.filter((u): u is string => typeof u === 'string') : undefined);
    return { sameHost: list(v['same_host']), differentHost: list(v['different_host']) };
  } catch {
    return {};
  }
}

/** What a flavor asks of a node: vCPUs, MB of RAM and root + ephemeral + swap rounded up to GB (Nova's DISK_GB). */
export function flavorResources(flavor: FlavorSnapshot): { vcpus: number; memoryMb: number; diskGb: number } {
  return { vcpus: flavor.vcpus, memoryMb: flavor.memory_mb, diskGb: flavor.root_gb + flavor.ephemeral_gb + Math.ceil(flavor.swap / 1024) };
}

/** Parses the instance's stored flavor; throws InvalidRequestSpecError naming what is wrong. */
export function parseFlavor(text: string): FlavorSnapshot {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new InvalidRequestSpecError('the instance flavor is not valid JSON');
  }
  const o = (v ?? {}) as Record<string, unknown>;
  for (const k of ['vcpus', 'memory_mb', 'root_gb'] as const) {
    const n = o[k];
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw new InvalidRequestSpecError(`the instance flavor has no valid ${k}`);
  }
  const int = (k: string) => (typeof o[k] === 'number' && Number.isInteger(o[k]) && (o[k]) >= 0 ? (o[k]) : 0);
  const specs: Record<string, string> = {};
  if (o['extra_specs'] && typeof o['extra_specs'] === 'object') {
    for (const [k, val] of Object.entries(o['extra_specs'] as Record<string, unknown>)) if (typeof val === 'string') specs[k] = val;
  }
  return {
    id: typeof o['id'] === 'string' ? o['id'] : '',
    name: typeof o['name'] === 'string' ? o['name'] : '',
    vcpus: o['vcpus'] as number,
    memory_mb: o['memory_mb'] as number,
    root_gb: o['root_gb'] as number,
    ephemeral_gb: int('ephemeral_gb'),
    swap: int('swap'),
    extra_specs: specs,
  };
}

export function parseStringArray(text: string): string[] {
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

export function parseStringMap(text: string | null): Record<string, string> {
  if (text === null) return {};
  try {
    const v: unknown = JSON.parse(text);
    const out: Record<string, string> = {};
    if (v && typeof v === 'object') for (const [k, val] of Object.entries(v)) if (typeof val === 'string') out[k] = val;
    return out;
  } catch {
    return {};
  }
}

export function buildRequestSpec(row: {
  uuid: string;
  flavor: string;
  requested_availability_zone: string | null;
  retry_nodes: string;
  image_properties: string | null;
  requested_host?: string | null;
  requested_node?: string | null;
}, defaultScheduleZone: string | null): RequestSpec {
  const flavor = parseFlavor(row.flavor);
  return {
    instanceUuid: row.uuid,
    flavor,
    ...flavorResources(flavor),
    availabilityZone: row.requested_availability_zone ?? defaultScheduleZone,
    imageProperties: parseStringMap(row.image_properties),
    retryNodes: new Set(parseStringArray(row.retry_nodes)),
    requestedHost: row.requested_host ?? null,
    requestedNode: row.requested_node ?? null,
  };
}
