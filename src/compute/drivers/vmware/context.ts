import { isFault, VimFault, type Client } from '../../../vsphere/index.js';
import type { Logger } from '../../../log.js';
import { DriverError } from '../driver.js';
import type { VmwareDriverOptions } from './config.js';
import type { ImageCache } from './image-cache.js';
import type { ProjectFolders } from './project-folder.js';
import type { ComputeTarget } from './topology.js';
import type { VlanPortGroups } from './vlan-port-groups.js';
import type { VncPortAllocator } from './vnc-ports.js';

/** What each operation module needs from the driver: the client, options and shared state. */
export interface VmwareContext {
  readonly client: Client;
  readonly options: VmwareDriverOptions;
  readonly log: Logger;
  readonly cache: ImageCache;
  readonly folders: ProjectFolders;
  readonly vnc: VncPortAllocator;
  readonly vlans: VlanPortGroups;
  /** Our VMs that existed when the driver started: spawning one of them resumes an interrupted build. */
  readonly existingAtStart: Set<string>;
  /** The compute target (cluster) of a node name; throws when the driver does not serve it. */
  target(nodename: string): ComputeTarget;
}

/** A stable opID for one step of one instance's operation, greppable in the vCenter logs. */
export function stepOpId(uuid: string, step: string): string {
  return `polyvisor-${uuid}-${step}-${Date.now().toString(36)}`;
}

/**
 * Translates anything thrown inside an operation into a DriverError that says which step
 * failed, with vCenter's own message and the opID of the call.
 */
export function driverFailure(operation: string, step: string, opId: string, err: unknown): DriverError {
  if (err instanceof DriverError) return err;
  const vcMessage = err instanceof Error ? err.message : String(err);
  const fault = err instanceof VimFault ? err.faultType : undefined;
  const transient = isFault(err) ? err.retryable : err instanceof Error && 'retryable' in err && err.retryable === true;
  return new DriverError('vmware_operation_failed', `${operation} failed while ${step}: ${vcMessage} (opID ${opId})`, {
    cause: err,
    retryable: transient,
    details: { operation, step, opId, ...(fault === undefined ? {} : { fault }) },
  });
}
