import type { CallOptions } from '../soap/round-tripper.js';
import type { ManagedObjectReference } from '../types/moref.js';
import type { PropertyFilterSpec } from '../types/property.js';
import { toProperties, type ObjectProperties, type PropertyCollector } from './collector.js';
import { inventoryTraversal } from './traversal.js';

/** The properties the VMware driver needs of each inventory type. */
export const INVENTORY_PATHS = {
  Datacenter: ['name', 'parent', 'vmFolder', 'hostFolder', 'datastoreFolder', 'networkFolder'],
  ClusterComputeResource: ['name', 'parent', 'host', 'datastore', 'network', 'resourcePool', 'summary'],
  ComputeResource: ['name', 'parent', 'host', 'datastore', 'network', 'resourcePool'],
  HostSystem: ['name', 'parent', 'runtime.connectionState', 'runtime.powerState', 'runtime.inMaintenanceMode', 'runtime.bootTime', 'summary.hardware', 'datastore', 'network'],
  Datastore: ['name', 'summary', 'host'],
  Network: ['name'],
  DistributedVirtualPortgroup: ['name', 'key', 'config.distributedVirtualSwitch'],
  ResourcePool: ['name', 'parent', 'owner'],
  VirtualMachine: ['name', 'runtime.powerState', 'config.instanceUuid', 'resourcePool'],
} as const satisfies Record<string, readonly string[]>;

export type InventoryType = keyof typeof INVENTORY_PATHS;

export interface Inventory {
  readonly objects: readonly ObjectProperties[];
  byType(type: InventoryType): ObjectProperties[];
}

/** The filter spec that selects the whole inventory below `root` with {@link INVENTORY_PATHS}. */
export function inventorySpec(root: ManagedObjectReference, options: { vms?: boolean; paths?: Readonly<Record<string, readonly string[]>> } = {}): PropertyFilterSpec {
  const paths: Record<string, readonly string[]> = { ...INVENTORY_PATHS, ...options.paths };
  return {
    propSet: Object.entries(paths).map(([type, pathSet]) => ({ type, pathSet })),
    objectSet: [{ obj: root, skip: false, selectSet: inventoryTraversal(options.vms === true ? { vms: true } : {}) }],
  };
}

/**
 * Datacenters, clusters, hosts, datastores, networks and resource pools with the
 * properties we need, in one RetrievePropertiesEx (more only if the server pages).
 */
export async function retrieveInventory(pc: PropertyCollector, root: ManagedObjectReference, options: CallOptions & { maxObjects?: number; vms?: boolean } = {}): Promise<Inventory> {
  const { vms, ...call } = options;
  const objects = (await pc.retrieve([inventorySpec(root, vms === undefined ? {} : { vms })], call)).map((c) => toProperties(c));
  return {
    objects,
    byType: (type) => objects.filter((o) => o.ref.type === type),
  };
}
