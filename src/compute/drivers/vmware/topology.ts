import {
  INVENTORY_PATHS, inventorySpec, isMoref, morefKey, toProperties,
  type Client, type ManagedObjectReference, type ObjectProperties,
} from '../../../vsphere/index.js';

/** A host's facts that count towards its cluster's resources. */
export interface HostFacts {
  readonly ref: ManagedObjectReference;
  readonly name: string;
  /** Connected and not in maintenance mode: its capacity counts and DRS may use it. */
  readonly usable: boolean;
  readonly cpuThreads: number;
  readonly cpuCores: number;
  readonly memoryBytes: number;
  readonly cpuModel: string;
  readonly vendor: string;
  /** runtime.bootTime (ISO), when vCenter knows it. */
  readonly bootTime?: string;
}

export interface DatastoreFacts {
  readonly ref: ManagedObjectReference;
  readonly name: string;
  readonly capacityBytes: number;
  readonly freeBytes: number;
  readonly accessible: boolean;
}

export interface NetworkFacts {
  readonly ref: ManagedObjectReference;
  readonly name: string;
  /** Distributed port groups: the switch's uuid and the group's key, for the NIC backing. */
  readonly dvs?: { readonly switchUuid: string; readonly portgroupKey: string };
}

/** One compute node: a cluster (vCenter) or a standalone host's ComputeResource (ESXi). */
export interface ComputeTarget {
  readonly ref: ManagedObjectReference;
  readonly name: string;
  readonly nodename: string;
  readonly datacenter: { readonly ref: ManagedObjectReference; readonly name: string; readonly vmFolder: ManagedObjectReference };
  readonly resourcePool: ManagedObjectReference;
  readonly hosts: readonly HostFacts[];
  /** All datastores of the cluster (the regex is applied by the caller). */
  readonly datastores: readonly DatastoreFacts[];
  readonly networks: readonly NetworkFacts[];
}

export interface Topology {
  readonly clusters: readonly ComputeTarget[];
  /** Standalone hosts' compute resources (the node in ESXi mode). */
  readonly standalone: readonly ComputeTarget[];
}

const EXTRA_PATHS = {
  Folder: ['name', 'parent'],
  VmwareDistributedVirtualSwitch: ['uuid'],
  DistributedVirtualSwitch: ['uuid'],
} as const;

const num = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : 0);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
/** runtime.bootTime decodes as a Date (xsd:dateTime); absent on hosts vCenter never saw boot. */
const bootTimeOf = (v: unknown): { bootTime?: string } =>
  v instanceof Date && !Number.isNaN(v.getTime()) ? { bootTime: v.toISOString() } : typeof v === 'string' && v !== '' ? { bootTime: v } : {};
const rec = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {});
const refs = (v: unknown): ManagedObjectReference[] => (Array.isArray(v) ? v.filter(isMoref) : []);

/**
 * Reads datacenters, clusters, hosts, datastores and networks in ONE RetrievePropertiesEx
 * (more only if the server pages) and joins them into compute targets. `nodeSuffix` is
 * the vCenter instance uuid (Nova names a node `<cluster moref>.<instance uuid>`).
 */
export async function readTopology(client: Client, nodeSuffix: string, options: { signal?: AbortSignal; maxObjects?: number } = {}): Promise<Topology> {
  const spec = inventorySpec(client.content.rootFolder, { paths: { ...INVENTORY_PATHS, ...EXTRA_PATHS } });
  const contents = await client.pc.retrieve([spec], {
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.maxObjects === undefined ? {} : { maxObjects: options.maxObjects }),
  });
  const byKey = new Map<string, ObjectProperties>();
  for (const c of contents) byKey.set(morefKey(c.obj), toProperties(c));
  const get = (r: ManagedObjectReference): ObjectProperties | undefined => byKey.get(morefKey(r));

  const datacenterOf = (start: ManagedObjectReference): ObjectProperties | undefined => {
    let cur: ManagedObjectReference | undefined = start;
    for (let i = 0; cur !== undefined && i < 64; i++) {
      const o = get(cur);
      if (o === undefined) return undefined;
      if (o.ref.type === 'Datacenter') return o;
      const p = o.props['parent'];
      cur = isMoref(p) ? p : undefined;
    }
    return undefined;
  };

  const host = (r: ManagedObjectReference): HostFacts | undefined => {
    const o = get(r);
    if (o === undefined) return undefined;
    const hw = rec(o.props['summary.hardware']);
    const usable = o.props['runtime.connectionState'] === 'connected' && o.props['runtime.inMaintenanceMode'] !== true;
    return {
      ref: r, name: str(o.props['name']), usable,
      cpuThreads: num(hw['numCpuThreads']), cpuCores: num(hw['numCpuCores']), memoryBytes: num(hw['memorySize']),
      cpuModel: str(hw['cpuModel']), vendor: str(hw['vendor']),
      ...bootTimeOf(o.props['runtime.bootTime']),
    };
  };
  const datastore = (r: ManagedObjectReference): DatastoreFacts | undefined => {
    const o = get(r);
    if (o === undefined) return undefined;
    const s = rec(o.props['summary']);
    return { ref: r, name: str(o.props['name']), capacityBytes: num(s['capacity']), freeBytes: num(s['freeSpace']), accessible: s['accessible'] !== false };
  };
  const network = (r: ManagedObjectReference): NetworkFacts | undefined => {
    const o = get(r);
    if (o === undefined) return undefined;
    if (r.type === 'DistributedVirtualPortgroup') {
      const sw = o.props['config.distributedVirtualSwitch'];
      const swUuid = isMoref(sw) ? str(get(sw)?.props['uuid']) : '';
      return { ref: r, name: str(o.props['name']), dvs: { switchUuid: swUuid, portgroupKey: str(o.props['key']) } };
    }
    return { ref: r, name: str(o.props['name']) };
  };
  const defined = <T>(xs: (T | undefined)[]): T[] => xs.filter((x): x is T => x !== undefined);

  const target = (o: ObjectProperties): ComputeTarget | undefined => {
    const dc = datacenterOf(o.ref);
    const pool = o.props['resourcePool'];
    const vmFolder = dc?.props['vmFolder'];
    if (dc === undefined || !isMoref(pool) || !isMoref(vmFolder)) return undefined;
    return {
      ref: o.ref,
      name: str(o.props['name']),
      nodename: `${o.ref.value}.${nodeSuffix}`,
      datacenter: { ref: dc.ref, name: str(dc.props['name']), vmFolder },
      resourcePool: pool,
      hosts: defined(refs(o.props['host']).map(host)),
      datastores: defined(refs(o.props['datastore']).map(datastore)),
      networks: defined(refs(o.props['network']).map(network)),
    };
  };
  const objects = [...byKey.values()];
  return {
    clusters: defined(objects.filter((o) => o.ref.type === 'ClusterComputeResource').map(target)),
    standalone: defined(objects.filter((o) => o.ref.type === 'ComputeResource').map(target)),
  };
}
