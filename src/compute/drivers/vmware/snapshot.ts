import { randomUUID } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { isFault, isMoref, type ManagedObjectReference, type VirtualDevice, type VirtualMachine } from '../../../vsphere/index.js';
import { DriverError, InstanceNotFoundError, type InstanceRef, type SnapshotData } from '../driver.js';
import { driverFailure, stepOpId, type VmwareContext } from './context.js';
import { withVm } from './vm-lookup.js';

/** Controller device types → vmware_adaptertype (Nova's names); a disk on an IDE controller is 'ide'. */
const ADAPTER_OF_CONTROLLER: Readonly<Record<string, string>> = {
  VirtualLsiLogicController: 'lsiLogic',
  VirtualBusLogicController: 'busLogic',
  VirtualLsiLogicSASController: 'lsiLogicsas',
  ParaVirtualSCSIController: 'paraVirtual',
  VirtualIDEController: 'ide',
};

/** The VM's root disk as it is before the snapshot: the file that the snapshot freezes. */
export interface RootDiskFacts {
  /** "[datastore] folder/name.vmdk": after CreateSnapshot the VM writes to a new delta; this file no longer changes. */
  readonly fileName: string;
  readonly datastore: string;
  readonly adapterType: string;
  readonly capacityKb: number;
  /** The base disk when the root disk is a delta (a linked clone): the copy consolidates the chain. */
  readonly parent?: string;
}

/** "[ds] path" → datastore name and path. */
export function splitDatastorePath(path: string): { datastore: string; path: string } | undefined {
  const m = /^\[([^\]]+)\] ?(.*)$/.exec(path);
  return m === null ? undefined : { datastore: m[1] ?? '', path: m[2] ?? '' };
}

/**
 * The root disk among the VM's devices: the disk with the lowest (controller bus, unit)
 * — spawn puts it at unit 0 of the first controller and ephemeral/swap disks after it.
 */
export function rootDisk(devices: readonly VirtualDevice[]): RootDiskFacts | undefined {
  const controllers = new Map(devices.filter((d) => d._type !== undefined && d._type in ADAPTER_OF_CONTROLLER).map((d) => [d.key, d]));
  const disks = devices
    .filter((d) => d._type === 'VirtualDisk' && typeof d.backing?.fileName === 'string' && d.controllerKey !== undefined && controllers.has(d.controllerKey))
    .map((d) => ({ d, c: controllers.get(d.controllerKey ?? -1) }))
    .sort((a, b) => (a.c?.busNumber ?? 0) - (b.c?.busNumber ?? 0) || (a.d.unitNumber ?? 0) - (b.d.unitNumber ?? 0) || a.d.key - b.d.key);
  const first = disks[0];
  const fileName = first?.d.backing?.fileName;
  if (first === undefined || fileName === undefined) return undefined;
  const where = splitDatastorePath(fileName);
  if (where === undefined) return undefined;
  const parent = first.d.backing?.parent?.fileName;
  return {
    fileName,
    datastore: where.datastore,
    adapterType: ADAPTER_OF_CONTROLLER[first.c?._type ?? ''] ?? 'lsiLogic',
    capacityKb: first.d.capacityInKB ?? Math.ceil((first.d.capacityInBytes ?? 0) / 1024),
    ...(parent === undefined ? {} : { parent }),
  };
}

interface SnapshotTreeNode {
  readonly snapshot?: unknown;
  readonly name?: unknown;
  readonly childSnapshotList?: unknown;
}

/** Snapshots named `name` anywhere in a VirtualMachineSnapshotInfo's tree (an interrupted earlier snapshot leaves one). */
export function snapshotsNamed(info: unknown, name: string): ManagedObjectReference[] {
  const out: ManagedObjectReference[] = [];
  const walk = (list: unknown): void => {
    if (!Array.isArray(list)) return;
    for (const node of list as SnapshotTreeNode[]) {
      if (node.name === name && isMoref(node.snapshot)) out.push(node.snapshot);
      walk(node.childSnapshotList);
    }
  };
  if (info !== null && typeof info === 'object') walk((info as { rootSnapshotList?: unknown }).rootSnapshotList);
  return out;
}

/** The snapshot's name on the VM (Nova's convention): one per instance at a time. */
export function snapshotName(uuid: string): string {
  return `${uuid}-snapshot`;
}

/**
 * A snapshot of a running (or stopped) VM's root disk, as Nova's VMware driver made it:
 * 1. one RetrievePropertiesEx: devices, guestId and the snapshot tree (a leftover
 *    `<uuid>-snapshot` of an interrupted run is removed first);
 * 2. CreateSnapshot_Task (no memory, no quiescing): the root disk file as it was is frozen,
 *    the VM writes on into a new delta and keeps running;
 * 3. MakeDirectory `[ds] <cache_prefix>vmware_temp/<random>` and CopyVirtualDisk_Task of the
 *    frozen file there: vSphere writes one standalone preallocated disk (a linked clone's
 *    chain consolidated into it);
 * 4. RemoveSnapshot_Task (consolidating the delta back) while the copy's flat extent is opened
 *    over the datastore HTTP interface: the stream goes straight to the image service;
 * 5. release() deletes the temporary folder. A failure at any step removes the snapshot and
 *    the folder before the error (naming the step, vCenter's message and the opID) is thrown.
 */
export async function snapshot(ctx: VmwareContext, instance: InstanceRef, signal: AbortSignal): Promise<SnapshotData> {
  const target = ctx.target(instance.node);
  const dc = target.datacenter;
  const name = snapshotName(instance.uuid);
  let step = 'reading the VM\'s disks';
  let opId = stepOpId(instance.uuid, 'snapread');
  let vm: VirtualMachine | undefined;
  let snap: ManagedObjectReference | undefined;
  let snapStarted = false;
  let tmpFolder: string | undefined;
  try {
    const read = await withVm(ctx, instance, signal, async (handle) => ({
      handle,
      props: await handle.properties(['config.hardware.device', 'config.guestId', 'snapshot'], { signal, opId }),
    }));
    vm = read.handle;
    const devices = read.props['config.hardware.device'];
    if (!Array.isArray(devices)) throw new InstanceNotFoundError(instance.uuid);
    const root = rootDisk(devices as VirtualDevice[]);
    if (root === undefined) throw new DriverError('snapshot_failed', `instance ${instance.uuid} has no root disk to snapshot (an ISO boot without a disk)`);
    const guestId = typeof read.props['config.guestId'] === 'string' ? read.props['config.guestId'] : 'otherGuest';

    for (const stale of snapshotsNamed(read.props['snapshot'], name)) {
      step = 'removing a snapshot an interrupted earlier run left';
      opId = stepOpId(instance.uuid, 'snapstale');
      ctx.log.warn({ instance: instance.uuid, snapshot: stale.value }, 'removing a vSphere snapshot an interrupted snapshot left on the VM');
      await vm.removeSnapshot(stale, { removeChildren: false, consolidate: true, signal, opId });
    }

    step = 'creating the vSphere snapshot';
    opId = stepOpId(instance.uuid, 'snapcreate');
    snapStarted = true;
    snap = await vm.createSnapshot(name, { description: 'Polyvisor: root disk frozen for an image upload', memory: false, quiesce: false, signal, opId });

    step = 'creating the temporary folder';
    opId = stepOpId(instance.uuid, 'snapmkdir');
    const folder = `${ctx.options.tempFolder ?? 'vmware_temp'}/${randomUUID()}`;
    const folderPath = `[${root.datastore}] ${folder}`;
    // Set before the call: a MakeDirectory that timed out may still have made it.
    tmpFolder = folderPath;
    await ctx.client.fileManager().makeDirectory(folderPath, dc.ref, { createParents: true, signal, opId });

    step = `copying the frozen root disk ${root.fileName}`;
    opId = stepOpId(instance.uuid, 'snapcopy');
    const copy = `${folder}/${instance.uuid}.vmdk`;
    await ctx.client.virtualDiskManager().copyVirtualDisk(root.fileName, `[${root.datastore}] ${copy}`, dc.ref, { signal, opId });

    // The copy stands alone: the snapshot goes now (the VM stops writing into a delta
    // sooner), while the copy's flat extent is opened for the stream.
    step = 'removing the vSphere snapshot and opening the copy for download';
    opId = stepOpId(instance.uuid, 'snapremove');
    const taken = snap;
    const [removed, opened] = await Promise.allSettled([
      vm.removeSnapshot(taken, { removeChildren: false, consolidate: true, signal, opId }),
      ctx.client.files.open({ datacenter: dc.name, datastore: root.datastore, path: copy.replace(/\.vmdk$/, '-flat.vmdk') }, { signal }),
    ]);
    if (removed.status === 'rejected') {
      if (opened.status === 'fulfilled') opened.value.stream.destroy();
      step = 'removing the vSphere snapshot';
      throw removed.reason;
    }
    snap = undefined;
    snapStarted = false;
    if (opened.status === 'rejected') {
      step = 'opening the disk copy for download';
      throw opened.reason;
    }
    ctx.log.info({ instance: instance.uuid, disk: root.fileName, linked: root.parent !== undefined, bytes: opened.value.size, copy: `[${root.datastore}] ${copy}` }, 'snapshot disk copied; streaming it');
    let released = false;
    return {
      data: checkedLength(opened.value.stream, opened.value.size, `[${root.datastore}] ${copy}`),
      diskFormat: 'vmdk',
      containerFormat: 'bare',
      properties: {
        vmware_disktype: 'preallocated',
        vmware_adaptertype: root.adapterType,
        vmware_ostype: guestId,
      },
      release: async () => {
        if (released) return;
        released = true;
        await removeTempFolder(ctx, dc.ref, folderPath, instance.uuid);
      },
    };
  } catch (err) {
    const failure = driverFailure('snapshot', step, opId, err);
    await cleanup(ctx, dc.ref, vm, snap ?? (snapStarted ? name : undefined), tmpFolder, instance.uuid);
    throw failure;
  }
}

/**
 * Passes the download through, failing the stream if it ends short of (or past) the length
 * the datastore announced: a truncated transfer must not become an "active" image.
 */
function checkedLength(source: Readable, expected: number | undefined, what: string): Readable {
  let seen = 0;
  const check = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      cb(null, chunk);
    },
    flush(cb) {
      if (expected !== undefined && seen !== expected) cb(new DriverError('snapshot_truncated', `the download of ${what} ended after ${seen} of ${expected} bytes`));
      else cb();
    },
  });
  source.on('error', (err) => check.destroy(err));
  check.on('close', () => source.destroy());
  return source.pipe(check);
}

async function removeTempFolder(ctx: VmwareContext, dc: ManagedObjectReference, folder: string, uuid: string): Promise<void> {
  // A fresh signal: the operation's may be what was aborted, and the folder must still go.
  await ctx.client.fileManager().deleteFile(folder, dc, { signal: AbortSignal.timeout(120_000), opId: stepOpId(uuid, 'snaprmdir') }).catch((err: unknown) => {
    if (!isFault(err, 'FileNotFound')) ctx.log.error({ err, instance: uuid, folder }, 'could not remove the temporary folder of a snapshot');
  });
}

/**
 * After a failure: the vSphere snapshot goes (consolidating) and the temporary folder;
 * logged, never thrown over the real error. `snap` is the snapshot, or its name when the
 * CreateSnapshot_Task was started but its result never arrived (timeout, abort).
 */
async function cleanup(ctx: VmwareContext, dc: ManagedObjectReference, vm: VirtualMachine | undefined, snap: ManagedObjectReference | string | undefined, folder: string | undefined, uuid: string): Promise<void> {
  const signal = AbortSignal.timeout(120_000);
  if (vm !== undefined && snap !== undefined) {
    try {
      const refs = typeof snap === 'string' ? snapshotsNamed((await vm.properties(['snapshot'], { signal })).snapshot, snap) : [snap];
      for (const ref of refs) await vm.removeSnapshot(ref, { removeChildren: false, consolidate: true, signal, opId: stepOpId(uuid, 'snapundo') });
    } catch (err) {
      if (!isFault(err, 'ManagedObjectNotFound')) ctx.log.error({ err, instance: uuid }, 'could not remove the vSphere snapshot of a failed snapshot');
    }
  }
  if (folder !== undefined) await removeTempFolder(ctx, dc, folder, uuid);
}
