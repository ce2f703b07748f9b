import type { SelectionSpec, TraversalSpec } from '../types/property.js';

function traverse(name: string, type: string, path: string, selectSet: readonly string[] = []): TraversalSpec {
  return { _type: 'TraversalSpec', name, type, path, skip: false, selectSet: selectSet.map((n): SelectionSpec => ({ name: n })) };
}

/**
 * Traversal from the root folder through the whole inventory: folders, datacenters and
 * their host/vm/datastore/network folders, compute resources and their hosts, resource
 * pools (and, on request, the VM folders). With a PropertySpec per type, one RetrievePropertiesEx returns it all.
 */
export function inventoryTraversal(options: { vms?: boolean } = {}): TraversalSpec[] {
  const all = ['folderTraversal', 'dcToHostFolder', 'dcToDatastoreFolder', 'dcToNetworkFolder', 'crToHost', 'crToRp', 'rpToRp'];
  // VMs are reached through the VM folder tree, not ResourcePool.vm: vcsim applies every
  // traversal by path whatever its type, and VM.resourcePool ↔ ResourcePool.vm would loop.
  if (options.vms === true) all.push('dcToVmFolder');
  const specs = [
    traverse('folderTraversal', 'Folder', 'childEntity', all),
    traverse('dcToHostFolder', 'Datacenter', 'hostFolder', all),
    traverse('dcToDatastoreFolder', 'Datacenter', 'datastoreFolder', all),
    traverse('dcToNetworkFolder', 'Datacenter', 'networkFolder', all),
    traverse('crToHost', 'ComputeResource', 'host', all),
    traverse('crToRp', 'ComputeResource', 'resourcePool', all),
    traverse('rpToRp', 'ResourcePool', 'resourcePool', all),
  ];
  if (options.vms === true) specs.push(traverse('dcToVmFolder', 'Datacenter', 'vmFolder', all));
  return specs;
}

/** Traversal from a view (container or list) to the objects it shows. */
export function viewTraversal(viewType: 'ContainerView' | 'ListView'): TraversalSpec {
  return { _type: 'TraversalSpec', name: 'view', type: viewType, path: 'view', skip: false };
}
