import { isFault, type ManagedObjectReference, type VirtualMachine, type VirtualMachineConfigSpec } from '../../../vsphere/index.js';
import { removeVm } from './destroy.js';
import { searchVm } from './vm-lookup.js';
import { DriverError, type ImageSource, type InstanceSpec, type SpawnHooks, type SpawnResult } from '../driver.js';
import { driverFailure, stepOpId, type VmwareContext } from './context.js';
import { imageLayout } from './image-cache.js';
import { usableDatastores } from './resources.js';
import type { ComputeTarget, DatastoreFacts, NetworkFacts } from './topology.js';
import { requestedVlanNetwork } from './vlan-port-groups.js';
import { createVmSpec, guestChoice, type NicNetwork, type RootDisk } from './vm-spec.js';

/** What spawn stores in the instance's driver_info: enough to find the VM without a search. */
export interface VmwareDriverInfo {
  readonly vm: string;
  readonly datastore: string;
  readonly vncPort?: number;
  readonly imageId: string;
  readonly linkedClone: boolean;
}

const GiB_KB = 1024 * 1024;

function parseBool(v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  if (/^(true|yes|on|1)$/i.test(v)) return true;
  if (/^(false|no|off|0)$/i.test(v)) return false;
  throw new DriverError('invalid_image', `image property img_linked_clone = ${v}: expected true or false`);
}

/** use_linked_clone, overridden per image by img_linked_clone (or the legacy vmware_linked_clone). */
export function wantsLinkedClone(image: ImageSource, configured: boolean): boolean {
  return parseBool(image.properties['img_linked_clone'] ?? image.properties['vmware_linked_clone']) ?? configured;
}

/** The datastore with the most free space among those datastore_regex allows. */
export function pickDatastore(target: ComputeTarget, regex: RegExp | null): DatastoreFacts {
  const best = usableDatastores(target, regex).sort((a, b) => b.freeBytes - a.freeBytes)[0];
  if (best === undefined) throw new DriverError('no_datastore', `cluster ${target.name} has no usable datastore`, { retryable: true });
  return best;
}

export function pickNetwork(target: ComputeTarget, instance: InstanceSpec, portGroup: string): NetworkFacts | undefined {
  if (instance.networks === 'none') return undefined;
  const net = target.networks.find((n) => n.name === portGroup);
  if (net === undefined) {
    throw new DriverError('network_not_found', `port group "${portGroup}" ([vmware] integration_bridge / [DEFAULT] flat_network_bridge) is not on cluster ${target.name}; its networks: ${target.networks.map((n) => `"${n.name}"`).join(', ')}`, { retryable: true });
  }
  return net;
}

/**
 * Spawns an instance: image into the datastore cache (once), then one CreateVM_Task with
 * the whole spec (a linked clone's delta disk included), then PowerOnVM_Task. A full copy
 * adds CopyVirtualDisk and a ReconfigVM. Any failure removes the VM and its files and
 * releases the VNC port before the error (with vCenter's message and opID) is thrown.
 */
export async function spawn(ctx: VmwareContext, instance: InstanceSpec, image: ImageSource, signal: AbortSignal, hooks: SpawnHooks = {}): Promise<SpawnResult> {
  // Personality files would need a config drive, which this driver does not build: ignored, said so.
  if ((instance.injectedFiles?.length ?? 0) > 0) ctx.log.info({ instance: instance.uuid, files: instance.injectedFiles?.length }, 'personality files ignored: the VMware driver has no config drive to inject them');
  const target = ctx.target(instance.node);
  const guest = guestChoice(image.properties);
  const layout = imageLayout(image);
  const linked = layout !== 'iso' && wantsLinkedClone(image, ctx.options.useLinkedClone);
  const ds = pickDatastore(target, ctx.options.datastoreRegex);
  // A VLAN network asked for by id gets its port group (made below); otherwise the configured one.
  const vlan = requestedVlanNetwork(instance, ctx.options.vlanNetworks ?? []);
  const network: NicNetwork | undefined = vlan === undefined ? pickNetwork(target, instance, ctx.options.portGroup) : { name: vlan.portGroup };
  const rootKb = instance.flavor.root_gb * GiB_KB;

  let step = 'caching the image';
  let opId = stepOpId(instance.uuid, 'cache');
  let vm: VirtualMachine | undefined;
  let vncPort: number | undefined;
  let copiedDisk: string | undefined;
  try {
    const cached = await ctx.cache.ensure({ datacenter: target.datacenter, datastore: ds.name }, image, guest.adapterType, {
      signal,
      ...(hooks.onProgress === undefined ? {} : { onProgress: (f: number) => hooks.onProgress?.(Math.min(90, Math.floor(f * 90))) }),
    });
    if (vlan !== undefined) {
      step = `creating VLAN port group ${vlan.portGroup}`;
      opId = stepOpId(instance.uuid, 'vlan');
      await ctx.vlans.ensure(target, vlan, signal);
    }
    step = 'creating the project folder';
    const folder = await ctx.folders.folder(target.datacenter.vmFolder, instance.projectId, signal);
    vncPort = ctx.vnc.allocate();
    const imageKb = Math.ceil(cached.capacityBytes / 1024);
    const rootDisk: RootDisk =
      cached.kind === 'iso'
        ? rootKb > 0 ? { kind: 'blank', capacityKb: rootKb } : { kind: 'none' }
        : linked
          ? { kind: 'linked', parent: cached.path, capacityKb: Math.max(imageKb, rootKb) }
          : { kind: 'none' };
    const spec = createVmSpec({
      instance, guest, datastoreName: ds.name, network, vncPort, rootDisk, imageId: image.id,
      ...(cached.kind === 'iso' ? { isoPath: cached.path } : {}),
    });
    step = 'creating the VM';
    opId = stepOpId(instance.uuid, 'createvm');
    vm = await createVm(ctx, folder, target.resourcePool, spec, instance.uuid, signal, opId);
    if (cached.kind === 'disk' && !linked) {
      // Full copy: the cached disk is copied into the VM's folder, then attached (grown to the flavor's size).
      step = 'copying the image disk';
      opId = stepOpId(instance.uuid, 'copydisk');
      copiedDisk = `[${ds.name}] ${instance.uuid}/${instance.uuid}-root.vmdk`;
      await ctx.client.virtualDiskManager().copyVirtualDisk(cached.path, copiedDisk, target.datacenter.ref, { signal, opId });
      step = 'attaching the root disk';
      opId = stepOpId(instance.uuid, 'attachdisk');
      await vm.reconfigure(attachExistingDisk(guest.adapterType, copiedDisk, Math.max(imageKb, rootKb)), { signal, opId });
    }
    hooks.onProgress?.(95);
    step = 'powering on';
    opId = stepOpId(instance.uuid, 'poweron');
    await vm.powerOn({ signal, opId });
    const info: VmwareDriverInfo = { vm: vm.ref.value, datastore: ds.name, ...(vncPort === undefined ? {} : { vncPort }), imageId: image.id, linkedClone: linked };
    ctx.log.info({ instance: instance.uuid, vm: vm.ref.value, datastore: ds.name, linked, transferred: cached.transferred }, 'spawned');
    return { driverInfo: { ...info } };
  } catch (err) {
    const failure = driverFailure('spawn', step, opId, err);
    await cleanup(ctx, target, ds.name, instance.uuid, vm?.ref, vncPort);
    throw failure;
  }
}

/**
 * CreateVM_Task. A DuplicateName means an earlier spawn of this very instance was cut
 * short (the agent was killed and now resumes the build): that VM is removed and the
 * creation made again, so a resumed spawn converges on one running VM. The normal path
 * costs nothing extra.
 */
async function createVm(ctx: VmwareContext, folder: ManagedObjectReference, pool: ManagedObjectReference, spec: VirtualMachineConfigSpec, uuid: string, signal: AbortSignal, opId: string): Promise<VirtualMachine> {
  if (ctx.existingAtStart.delete(uuid)) {
    // Built (partly) before this process started: remove that VM first. No cost otherwise.
    const old = await searchVm(ctx, uuid, signal);
    if (old !== undefined) {
      ctx.log.warn({ instance: uuid, vm: old.ref.value }, 'removing the VM an interrupted spawn of this instance left');
      await removeVm(old, signal, opId, () => undefined);
    }
  }
  try {
    return await ctx.client.folder(folder).createVM(spec, pool, { signal, opId });
  } catch (err) {
    if (!isFault(err, 'DuplicateName')) throw err;
    const old = await searchVm(ctx, uuid, signal);
    if (old === undefined) throw err;
    ctx.log.warn({ instance: uuid, vm: old.ref.value }, 'removing the VM an interrupted spawn of this instance left, then creating it again');
    await removeVm(old, signal, opId, () => undefined);
    return ctx.client.folder(folder).createVM(spec, pool, { signal, opId: `${opId}-again` });
  }
}

/** A ReconfigVM spec adding an existing disk on a new controller of the adapter type. */
function attachExistingDisk(adapterType: string, path: string, capacityKb: number): { deviceChange: { operation: 'add'; device: { _type: string; key: number; busNumber?: number; sharedBus?: string; controllerKey?: number; unitNumber?: number; capacityInKB?: number; backing?: { _type: string; fileName: string; diskMode: string } } }[] } {
  const controller = { lsiLogic: 'VirtualLsiLogicController', busLogic: 'VirtualBusLogicController', lsiLogicsas: 'VirtualLsiLogicSASController', paraVirtual: 'ParaVirtualSCSIController' }[adapterType];
  const controllerKey = controller === undefined ? 200 : -201;
  return {
    deviceChange: [
      ...(controller === undefined ? [] : [{ operation: 'add' as const, device: { _type: controller, key: -201, busNumber: 0, sharedBus: 'noSharing' } }]),
      { operation: 'add' as const, device: { _type: 'VirtualDisk', key: -202, controllerKey, unitNumber: 0, capacityInKB: capacityKb, backing: { _type: 'VirtualDiskFlatVer2BackingInfo', fileName: path, diskMode: 'persistent' } } },
    ],
  };
}

/**
 * Removes what a failed spawn made: the VM (Destroy_Task deletes its files) and then its
 * folder on the datastore in case files were not attached. Errors here are logged, not
 * thrown: the spawn's own failure is what the user must see.
 */
async function cleanup(ctx: VmwareContext, target: ComputeTarget, datastore: string, uuid: string, vm: ManagedObjectReference | undefined, vncPort: number | undefined): Promise<void> {
  // A fresh signal: the spawn's may be what was aborted, and cleanup must still run.
  const signal = AbortSignal.timeout(120_000);
  try {
    if (vm !== undefined) {
      const handle = ctx.client.vm(vm);
      try {
        if ((await handle.powerState({ signal })) !== 'poweredOff') await handle.powerOff({ signal });
      } catch (err) {
        if (!isFault(err, 'InvalidPowerState') && !isFault(err, 'ManagedObjectNotFound')) throw err;
      }
      await handle.destroy({ signal }).catch((err: unknown) => {
        if (!isFault(err, 'ManagedObjectNotFound')) throw err;
      });
    }
    await ctx.client.fileManager().deleteFile(`[${datastore}] ${uuid}`, target.datacenter.ref, { signal }).catch((err: unknown) => {
      if (!isFault(err, 'FileNotFound')) throw err;
    });
  } catch (err) {
    ctx.log.error({ err, instance: uuid }, 'cleanup after a failed spawn left something behind');
  } finally {
    if (vncPort !== undefined) ctx.vnc.release(vncPort);
  }
}
