import type { VirtualDevice, VirtualDeviceConfigSpec } from '../../../vsphere/index.js';
import { DriverError } from '../driver.js';
import type { FlavorSnapshot } from '../../states.js';

const GiB_KB = 1024 * 1024;
/** The second IDE controller: spawn puts ephemeral and swap disks there when the image wants IDE. */
const IDE_SECONDARY_KEY = 201;
const IDE_PRIMARY_KEY = 200;
/** Unit 7 of a SCSI bus is the controller itself. */
const SCSI_RESERVED_UNIT = 7;

/** The disks of an instance's VM by the role spawn gave them. */
export interface InstanceDisks {
  readonly root: VirtualDevice | undefined;
  readonly ephemeral: VirtualDevice | undefined;
  readonly swap: VirtualDevice | undefined;
}

const isDisk = (d: VirtualDevice): boolean => d._type === 'VirtualDisk';
export const capacityKb = (d: VirtualDevice): number => d.capacityInKB ?? Math.floor((d.capacityInBytes ?? 0) / 1024);

/**
 * Finds root, ephemeral and swap among the VM's disks as spawn laid them out: the root disk
 * is at unit 0 of its controller (a linked clone's delta, a full copy's `-root.vmdk`, an ISO
 * instance's blank disk); ephemeral then swap follow, in unit order (SCSI units 1, 2, or the
 * second IDE controller; a resize keeps that order). A lone extra disk is swap only when its size is not whole GiB (a flavor's swap
 * is in MB): when in doubt it is kept as ephemeral, so its data is never thrown away.
 */
export function instanceDisks(devices: readonly VirtualDevice[]): InstanceDisks {
  const disks = devices.filter(isDisk);
  const root = disks.find((d) => d.unitNumber === 0 && d.controllerKey !== IDE_SECONDARY_KEY);
  // By controller and unit, not by device order: vSphere (and vcsim) list an edited disk last.
  const extras = disks.filter((d) => d !== root).sort((a, b) => (a.controllerKey ?? 0) - (b.controllerKey ?? 0) || (a.unitNumber ?? 0) - (b.unitNumber ?? 0));
  if (extras.length >= 2) return { root, ephemeral: extras[0], swap: extras[1] };
  const only = extras[0];
  if (only === undefined) return { root, ephemeral: undefined, swap: undefined };
  return capacityKb(only) % GiB_KB === 0 ? { root, ephemeral: only, swap: undefined } : { root, ephemeral: undefined, swap: only };
}

/** What a resize changes on the disks, decided before anything is touched. */
export interface DiskPlan {
  readonly changes: VirtualDeviceConfigSpec[];
  /** Human-readable list of what changes, for the log. */
  readonly summary: string[];
}

/**
 * The disk edits a resize to `flavor` needs: the root disk grows (a disk edit with the
 * larger capacity) when the flavor's root_gb is larger and is never shrunk; the ephemeral
 * disk grows, or is added when there was none, and is never shrunk; swap holds nothing
 * worth keeping, so a different swap size replaces the swap disk. A smaller root or
 * ephemeral disk throws `resize_disk_shrink` (Nova's "Unable to shrink disk").
 */
export function planDisks(devices: readonly VirtualDevice[], flavor: FlavorSnapshot, datastore: string): DiskPlan {
  const { root, ephemeral, swap } = instanceDisks(devices);
  const changes: VirtualDeviceConfigSpec[] = [];
  const summary: string[] = [];
  const rootKb = flavor.root_gb * GiB_KB;
  if (root !== undefined && rootKb > 0) {
    const current = capacityKb(root);
    if (rootKb < current) {
      throw new DriverError('resize_disk_shrink', `Unable to shrink disk: the root disk is ${gib(current)} GB and flavor ${flavor.name} has ${flavor.root_gb} GB; a VMware disk cannot be made smaller`);
    }
    if (rootKb > current) {
      changes.push(grow(root, rootKb));
      summary.push(`root ${gib(current)} → ${flavor.root_gb} GB`);
    }
  }
  const ephemeralKb = flavor.ephemeral_gb * GiB_KB;
  if (ephemeral !== undefined) {
    const current = capacityKb(ephemeral);
    if (ephemeralKb < current) {
      throw new DriverError('resize_disk_shrink', `Unable to shrink disk: the ephemeral disk is ${gib(current)} GB and flavor ${flavor.name} has ${flavor.ephemeral_gb} GB; a VMware disk cannot be made smaller`);
    }
    if (ephemeralKb > current) {
      changes.push(grow(ephemeral, ephemeralKb));
      summary.push(`ephemeral ${gib(current)} → ${flavor.ephemeral_gb} GB`);
    }
  }
  const swapKb = flavor.swap * 1024;
  // A new ephemeral disk goes before swap (the order roles are told by), so an existing swap
  // disk is made again after it: swap holds nothing to keep.
  const addEphemeral = ephemeral === undefined && ephemeralKb > 0;
  const replaceSwap = swap !== undefined && (capacityKb(swap) !== swapKb || addEphemeral);
  if (swap !== undefined && replaceSwap) {
    changes.push({ operation: 'remove', fileOperation: 'destroy', device: swap });
    summary.push(`swap ${capacityKb(swap) / 1024} MB removed`);
  }
  const adds: [string, number][] = [];
  if (addEphemeral) adds.push(['ephemeral', ephemeralKb]);
  if (swapKb > 0 && (swap === undefined || replaceSwap)) adds.push(['swap', swapKb]);
  if (adds.length > 0) {
    const removedSwap = replaceSwap ? swap : undefined;
    const slots = freeSlots(devices, root, ephemeral ?? swap, removedSwap, adds.length);
    adds.forEach(([role, kb], i) => {
      const slot = slots[i];
      if (slot === undefined) throw new DriverError('resize_no_disk_slot', `no free unit on the VM's disk controller for the new ${role} disk`);
      changes.push({
        operation: 'add',
        fileOperation: 'create',
        device: {
          _type: 'VirtualDisk', key: -301 - i, controllerKey: slot.controllerKey, unitNumber: slot.unitNumber, capacityInKB: kb,
          backing: { _type: 'VirtualDiskFlatVer2BackingInfo', fileName: `[${datastore}]`, diskMode: 'persistent', thinProvisioned: true },
        },
      });
      summary.push(role === 'swap' ? `swap ${kb / 1024} MB added` : `ephemeral ${kb / GiB_KB} GB added`);
    });
  }
  return { changes, summary };
}

/** The same disk with a larger capacity (both fields: vSphere prefers capacityInBytes when set). */
function grow(disk: VirtualDevice, kb: number): VirtualDeviceConfigSpec {
  return { operation: 'edit', device: { ...disk, capacityInKB: kb, capacityInBytes: kb * 1024 } };
}

/**
 * Where new extra disks go: beside the existing extra disk, else where spawn would have put
 * them (the second IDE controller for an IDE root, else the root's SCSI controller), on the
 * first free units (a removed swap disk's unit is free again).
 */
function freeSlots(devices: readonly VirtualDevice[], root: VirtualDevice | undefined, extra: VirtualDevice | undefined, removed: VirtualDevice | undefined, n: number): { controllerKey: number; unitNumber: number }[] {
  let controllerKey: number | undefined = extra?.controllerKey;
  if (controllerKey === undefined && root !== undefined) controllerKey = root.controllerKey === IDE_PRIMARY_KEY ? IDE_SECONDARY_KEY : root.controllerKey;
  if (controllerKey === undefined) controllerKey = devices.find((d) => d._type !== undefined && /SCSI|LsiLogic|BusLogic/i.test(d._type) && d._type.endsWith('Controller'))?.key ?? IDE_SECONDARY_KEY;
  const ide = controllerKey === IDE_PRIMARY_KEY || controllerKey === IDE_SECONDARY_KEY;
  const used = new Set(devices.filter((d) => d.controllerKey === controllerKey && d !== removed && d.unitNumber !== undefined).map((d) => d.unitNumber));
  const out: { controllerKey: number; unitNumber: number }[] = [];
  for (let unit = 0; unit < (ide ? 2 : 16) && out.length < n; unit++) {
    if (!ide && unit === SCSI_RESERVED_UNIT) continue;
    if (!used.has(unit)) out.push({ controllerKey, unitNumber: unit });
  }
  return out;
}

function gib(kb: number): string {
  const g = kb / GiB_KB;
  return Number.isInteger(g) ? String(g) : g.toFixed(2);
}
