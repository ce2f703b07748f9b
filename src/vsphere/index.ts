/**
 * Polyvisor's vSphere (vim25 SOAP) client. Layers, each importing only those below it:
 * types → soap → methods → property / task / session / datastore → object → client.
 * See README.md.
 */
export * from './types/index.js';
export * from './soap/round-tripper.js';
export * from './soap/fault.js';
export * from './soap/errors.js';
export { CallCounter } from './soap/call-counter.js';
export { withRequestId, currentRequestId, newOpId } from './soap/op-id.js';
export * as methods from './methods/index.js';
export { PropertyCollector, toProperties, type ObjectProperties } from './property/collector.js';
export { ContainerView } from './property/container-view.js';
export { inventoryTraversal, viewTraversal } from './property/traversal.js';
export { retrieveInventory, inventorySpec, INVENTORY_PATHS, type Inventory, type InventoryType } from './property/inventory.js';
export { TaskWaiter, type TaskWaitOptions } from './task/task-waiter.js';
export { Session } from './session/session.js';
export { DatastoreFiles, folderUrlPath, DatastoreFileNotFoundError, type DatastoreLocation, type TransferOptions } from './datastore/file-transfer.js';
export { ManagedObject, type VimContext, type TaskCallOptions } from './object/managed-object.js';
export { VirtualMachine } from './object/virtual-machine.js';
export { Folder } from './object/folder.js';
export { Datacenter, type DatacenterFolders } from './object/datacenter.js';
export { ClusterComputeResource } from './object/cluster-compute-resource.js';
export { HostSystem } from './object/host-system.js';
export { Datastore } from './object/datastore.js';
export { ResourcePool } from './object/resource-pool.js';
export { FileManager } from './object/file-manager.js';
export { VirtualDiskManager } from './object/virtual-disk-manager.js';
export { AuthorizationManager } from './object/authorization-manager.js';
export { Client, sdkUrl, type ClientOptions } from './client.js';
export { GUEST_IDS } from './types/guest-ids.js';
