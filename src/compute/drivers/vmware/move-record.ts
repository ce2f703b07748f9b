import { isMoref, moref, type ManagedObjectReference, type OptionValue } from '../../../vsphere/index.js';
import { DriverError } from '../driver.js';
import type { VmwareContext } from './context.js';

/**
 * What a resize or cold migration keeps for its revert, in the VM's own extraConfig (key
 * `polyvisor.move`, JSON): the vCPUs and memory before the resize and where the VM was
 * (resource pool, host, datastore). It lives on the VM, not in the agent, because the
 * revert may run on another compute service (the source's) or after a restart. Confirm and
 * revert clear it. `released` is set when the destination gave the VM back during a revert
 * or a delete in VERIFY_RESIZE (see `holdForRevert`).
 */
export interface MoveRecord {
  readonly numCPUs: number;
  readonly memoryMB: number;
  readonly pool: string;
  readonly host?: string;
  readonly datastore?: string;
  readonly released?: boolean;
}

export const MOVE_KEY = 'polyvisor.move';

/**
 * The value of an extraConfig key, or undefined. vSphere replaces a key's value and drops a
 * key set to "" (which is how ours is cleared); vcsim 0.24 appends every option instead, so
 * the LAST occurrence is the current one, and "" means absent on both.
 */
export function extraValue(extraConfig: unknown, key: string): string | undefined {
  if (!Array.isArray(extraConfig)) return undefined;
  let value: string | undefined;
  for (const e of extraConfig as { key?: unknown; value?: unknown }[]) {
    if (e.key === key) value = typeof e.value === 'string' ? e.value : typeof e.value === 'number' || typeof e.value === 'boolean' ? String(e.value) : undefined;
  }
  return value === '' ? undefined : value;
}

export function readMoveRecord(extraConfig: unknown): MoveRecord | undefined {
  const raw = extraValue(extraConfig, MOVE_KEY);
  if (raw === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw new DriverError('move_record_invalid', `the VM's ${MOVE_KEY} extraConfig is not JSON: ${raw.slice(0, 200)}`);
  }
  const o = typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
  const { numCPUs, memoryMB, pool, host, datastore, released } = o;
  if (typeof numCPUs !== 'number' || typeof memoryMB !== 'number' || typeof pool !== 'string') {
    throw new DriverError('move_record_invalid', `the VM's ${MOVE_KEY} extraConfig lacks numCPUs, memoryMB or pool: ${raw.slice(0, 200)}`);
  }
  return {
    numCPUs, memoryMB, pool,
    ...(typeof host === 'string' ? { host } : {}),
    ...(typeof datastore === 'string' ? { datastore } : {}),
    ...(released === true ? { released } : {}),
  };
}

export function moveOption(record: MoveRecord | undefined): OptionValue {
  return { _type: 'OptionValue', key: MOVE_KEY, value: record === undefined ? '' : JSON.stringify(record) };
}

/** Where the record says the VM was. */
export function recordedPlacement(r: MoveRecord): { pool: ManagedObjectReference; host?: ManagedObjectReference; datastore?: ManagedObjectReference } {
  return {
    pool: moref('ResourcePool', r.pool),
    ...(r.host === undefined ? {} : { host: moref('HostSystem', r.host) }),
    ...(r.datastore === undefined ? {} : { datastore: moref('Datastore', r.datastore) }),
  };
}

/** The first datastore reference of a VM's `datastore` property. */
export function firstDatastore(v: unknown): ManagedObjectReference | undefined {
  return Array.isArray(v) ? v.find(isMoref) : undefined;
}

/**
 * A node of this vCenter is `<cluster moref>.<vCenter instance uuid>`: the cluster's moref
 * value, or a clear error for a node of another vCenter (or another hypervisor), which no
 * vSphere move can reach.
 */
export function clusterOfNode(ctx: VmwareContext, node: string): string {
  const suffix = ctx.client.content.about.instanceUuid ?? ctx.options.hostIp;
  if (!node.endsWith(`.${suffix}`) || node.length <= suffix.length + 1) {
    throw new DriverError('move_across_vcenters', `node ${node} is not a cluster of this vCenter (${suffix}): VMware moves stay within one vCenter`);
  }
  return node.slice(0, node.length - suffix.length - 1);
}
