import { isFault, isMoref, morefKey, type VirtualDevice, type VirtualMachine, type VirtualMachineConfigSpec } from '../../../vsphere/index.js';
import { DriverError, type InstanceRef, type InstanceSpec, type MigrationTarget, type SpawnResult } from '../driver.js';
import type { FlavorSnapshot, PowerState } from '../../states.js';
import { driverFailure, stepOpId, type VmwareContext } from './context.js';
import { removeVm } from './destroy.js';
import { destinationTarget, inCluster, relocateSpecFor } from './move-placement.js';
import { clusterOfNode, firstDatastore, moveOption, readMoveRecord, recordedPlacement, type MoveRecord } from './move-record.js';
import { planDisks } from './resize-disks.js';
import { findVm, searchVm, withVm } from './vm-lookup.js';

/**
 * Resize, cold migration and live migration (vMotion) within one vCenter. The instance is
 * one VM throughout, as in Nova's VMware driver: nothing is copied to the destination.
 * - source, migrateDiskAndPowerOff: refuses a smaller root/ephemeral disk before anything
 *   changes, powers off, and applies the new flavor in ONE ReconfigVM_Task (vCPUs, memory,
 *   disk growth, ephemeral/swap) that also records the old values for a revert (move-record);
 * - destination, finishMigration: RelocateVM_Task into its cluster when the VM is not there
 *   yet (powered off), then powers on;
 * - confirm clears the record; revert relocates back, restores vCPUs/memory, powers on.
 * - liveMigrate: RelocateVM_Task of the running VM to the destination cluster;
 *   postLiveMigrationAtDestination checks it arrived and takes its VNC port over.
 */

const VM_PATHS = [
  'runtime.powerState', 'config.hardware.numCPU', 'config.hardware.memoryMB', 'config.hardware.device',
  'config.extraConfig', 'resourcePool', 'runtime.host', 'datastore',
] as const;

type Step = { name: string; opId: string };

async function run<T>(ctx: VmwareContext, operation: string, uuid: string, fn: (at: (step: string) => string) => Promise<T>): Promise<T> {
  const step: Step = { name: 'looking up the VM', opId: stepOpId(uuid, operation) };
  try {
    return await fn((name) => {
      step.name = name;
      step.opId = stepOpId(uuid, `${operation}-${name.split(' ')[0] ?? 'step'}`);
      return step.opId;
    });
  } catch (err) {
    throw driverFailure(operation, step.name, step.opId, err);
  }
}

const devicesOf = (v: unknown): VirtualDevice[] => (Array.isArray(v) ? (v as VirtualDevice[]) : []);
const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));

/** The datastore name of a disk's `[ds] path` file name. */
function datastoreOfDisks(devices: readonly VirtualDevice[], fallback: unknown): string {
  for (const d of devices) {
    const m = /^\[([^\]]+)\]/.exec(d._type === 'VirtualDisk' ? (d.backing?.fileName ?? '') : '');
    if (m?.[1] !== undefined) return m[1];
  }
  if (typeof fallback === 'string' && fallback !== '') return fallback;
  throw new DriverError('resize_no_datastore', 'the VM has no disk to tell which datastore new disks go to');
}

/**
 * Source side of a resize or cold migration. Any refusal happens before the VM is touched;
 * a failed reconfiguration powers the VM on again if it was on, so the agent can leave the
 * server as it was.
 */
export function migrateDiskAndPowerOff(ctx: VmwareContext, instance: InstanceRef, dest: MigrationTarget, flavor: FlavorSnapshot, signal: AbortSignal): Promise<void> {
  return run(ctx, 'resize', instance.uuid, async (at) => {
    clusterOfNode(ctx, dest.node);
    await withVm(ctx, instance, signal, async (vm) => {
      const p = await vm.properties(VM_PATHS, { signal });
      const devices = devicesOf(p['config.hardware.device']);
      const plan = planDisks(devices, flavor, datastoreOfDisks(devices, instance.driverInfo['datastore']));
      const previous = readMoveRecord(p['config.extraConfig']);
      if (previous !== undefined && previous.released !== true) {
        throw new DriverError('move_in_progress', `instance ${instance.uuid} has an unconfirmed resize or migration: confirm or revert it first`);
      }
      const pool = p['resourcePool'];
      if (!isMoref(pool)) throw new DriverError('vm_without_pool', `instance ${instance.uuid}'s VM has no resource pool (is it a template?)`);
      const host = p['runtime.host'];
      const ds = firstDatastore(p['datastore']);
      const record: MoveRecord = {
        numCPUs: num(p['config.hardware.numCPU']), memoryMB: num(p['config.hardware.memoryMB']), pool: pool.value,
        ...(isMoref(host) ? { host: host.value } : {}),
        ...(ds === undefined ? {} : { datastore: ds.value }),
      };
      const wasOn = p['runtime.powerState'] !== 'poweredOff';
      if (wasOn) await powerOff(vm, signal, at('powering off'));
      const spec: VirtualMachineConfigSpec = {
        numCPUs: flavor.vcpus, memoryMB: flavor.memory_mb, extraConfig: [moveOption(record)],
        ...(plan.changes.length > 0 ? { deviceChange: plan.changes } : {}),
      };
      try {
        await vm.reconfigure(spec, { signal, opId: at('reconfiguring the VM for the new flavor') });
      } catch (err) {
        // ReconfigVM is all or nothing: the VM is as it was, so it runs again as it did.
        if (wasOn) await vm.powerOn({ signal: AbortSignal.timeout(120_000) }).catch((e: unknown) => ctx.log.error({ err: e, instance: instance.uuid }, 'could not power the VM on again after a failed resize'));
        throw err;
      }
      ctx.log.info({ instance: instance.uuid, to: dest.node, vcpus: flavor.vcpus, memoryMb: flavor.memory_mb, disks: plan.summary }, 'resize: VM powered off and reconfigured');
    });
  });
}

/**
 * Destination side: the VM into this node's cluster (RelocateVM_Task while powered off) when
 * it is not there yet, then powered on if it ran before.
 */
export function finishMigration(ctx: VmwareContext, instance: InstanceSpec, options: { powerOn: boolean }, signal: AbortSignal): Promise<SpawnResult> {
  return run(ctx, 'finish-resize', instance.uuid, async (at) => {
    const target = ctx.target(instance.node);
    return withVm(ctx, instance, signal, async (vm) => {
      const p = await vm.properties(['resourcePool', 'runtime.host', 'datastore', 'runtime.powerState'], { signal });
      let datastore = instance.driverInfo['datastore'];
      if (!inCluster(target, p['resourcePool'], p['runtime.host'])) {
        if (p['runtime.powerState'] !== 'poweredOff') await powerOff(vm, signal, at('powering off'));
        const { spec, datastoreName } = relocateSpecFor(ctx, target, firstDatastore(p['datastore']));
        await vm.relocate(spec, { signal, opId: at('relocating the VM to the destination cluster') });
        datastore = datastoreName;
        ctx.log.info({ instance: instance.uuid, cluster: target.name, datastore }, 'cold migration: VM relocated');
      }
      if (options.powerOn) await powerOn(vm, signal, at('powering on'));
      const port = instance.driverInfo['vncPort'];
      if (typeof port === 'number') ctx.vnc.markUsed([port]);
      return { driverInfo: { ...instance.driverInfo, vm: vm.ref.value, ...(typeof datastore === 'string' ? { datastore } : {}), movePending: true } };
    });
  });
}

/** Confirm (source side): forgets what was kept for a revert; removes the VM when the server was deleted in VERIFY_RESIZE. */
export function confirmMigration(ctx: VmwareContext, instance: InstanceRef, signal: AbortSignal): Promise<void> {
  return run(ctx, 'confirm-resize', instance.uuid, async (at) => {
    const vm = await findVm(ctx, instance, signal);
    if (vm === undefined) return;
    let record: MoveRecord | undefined;
    try {
      record = readMoveRecord((await vm.properties(['config.extraConfig'], { signal }))['config.extraConfig']);
    } catch (err) {
      if (isFault(err, 'ManagedObjectNotFound')) return;
      throw err;
    }
    if (record === undefined) return;
    if (record.released === true) {
      // The destination gave the VM up while no revert followed: the server was deleted.
      await removeVm(vm, signal, at('destroying the VM of the deleted server'), () => undefined);
      ctx.log.info({ instance: instance.uuid }, 'confirm: removed the VM of a server deleted while resized');
      return;
    }
    await vm.reconfigure({ extraConfig: [moveOption(undefined)] }, { signal, opId: at('clearing the revert record') });
  });
}

/**
 * Revert (source side, after the destination released the VM): back to the recorded pool,
 * host and datastore, the old vCPUs and memory, the old power state. Disks keep the size the
 * resize gave them (vSphere cannot shrink a disk). Without a record there is nothing to
 * undo (an interrupted revert already finished): only the power state is set.
 */
export function finishRevertMigration(ctx: VmwareContext, instance: InstanceRef, options: { powerOn: boolean }, signal: AbortSignal): Promise<void> {
  return run(ctx, 'revert-resize', instance.uuid, async (at) => {
    const vm = (await findVm(ctx, instance, signal)) ?? (await searchVm(ctx, instance.uuid, signal));
    if (vm === undefined) throw new DriverError('instance_not_found', `instance ${instance.uuid}'s VM is gone: nothing to revert`);
    const p = await vm.properties(['runtime.powerState', 'config.extraConfig', 'resourcePool', 'runtime.host', 'datastore'], { signal });
    const record = readMoveRecord(p['config.extraConfig']);
    if (record !== undefined) {
      if (p['runtime.powerState'] !== 'poweredOff') await powerOff(vm, signal, at('powering off'));
      const back = recordedPlacement(record);
      const pool = p['resourcePool'];
      if (!isMoref(pool) || morefKey(pool) !== morefKey(back.pool)) {
        const ds = firstDatastore(p['datastore']);
        const moveDisks = back.datastore !== undefined && (ds === undefined || morefKey(ds) !== morefKey(back.datastore));
        await vm.relocate(
          { pool: back.pool, ...(back.host === undefined ? {} : { host: back.host }), ...(moveDisks && back.datastore !== undefined ? { datastore: back.datastore } : {}) },
          { signal, opId: at('relocating the VM back') },
        );
      }
      // The record goes in the same reconfiguration: a revert cut short before it is done again.
      await vm.reconfigure({ numCPUs: record.numCPUs, memoryMB: record.memoryMB, extraConfig: [moveOption(undefined)] }, { signal, opId: at('restoring vCPUs and memory') });
      ctx.log.info({ instance: instance.uuid, vcpus: record.numCPUs, memoryMb: record.memoryMB }, 'resize reverted');
    }
    if (options.powerOn) await powerOn(vm, signal, at('powering on'));
  });
}

/** Live migration (vMotion), source side: RelocateVM_Task of the running VM into the destination cluster. */
export function liveMigrate(ctx: VmwareContext, instance: InstanceRef, dest: MigrationTarget, signal: AbortSignal): Promise<void> {
  return run(ctx, 'live-migration', instance.uuid, async (at) => {
    const target = await destinationTarget(ctx, dest.node, signal);
    await withVm(ctx, instance, signal, async (vm) => {
      const p = await vm.properties(['runtime.powerState', 'datastore', 'resourcePool', 'runtime.host'], { signal });
      if (p['runtime.powerState'] !== 'poweredOn') {
        throw new DriverError('live_migration_not_running', `instance ${instance.uuid} is ${String(p['runtime.powerState'])}: vMotion moves running VMs (use a cold migration)`);
      }
      if (inCluster(target, p['resourcePool'], p['runtime.host'])) return;
      const { spec } = relocateSpecFor(ctx, target, firstDatastore(p['datastore']));
      await vm.relocate(spec, { signal, opId: at('vMotion to the destination cluster'), priority: 'defaultPriority' });
    });
    // A destination served by another compute service allocates the port there.
    const port = instance.driverInfo['vncPort'];
    if (typeof port === 'number' && !serves(ctx, dest.node)) ctx.vnc.release(port);
    ctx.log.info({ instance: instance.uuid, to: dest.node }, 'live migration: VM moved');
  });
}

/** Live migration, destination side: the VM must be in this node's cluster now; its VNC port is ours. */
export function postLiveMigrationAtDestination(ctx: VmwareContext, instance: InstanceSpec, _powerState: PowerState, signal: AbortSignal): Promise<SpawnResult> {
  return run(ctx, 'post-live-migration', instance.uuid, async () => {
    const target = ctx.target(instance.node);
    return withVm(ctx, instance, signal, async (vm) => {
      const p = await vm.properties(['resourcePool', 'runtime.host', 'datastore'], { signal });
      if (!inCluster(target, p['resourcePool'], p['runtime.host'])) {
        throw new DriverError('live_migration_incomplete', `instance ${instance.uuid}'s VM is not in cluster ${target.name} after the live migration`);
      }
      const port = instance.driverInfo['vncPort'];
      if (typeof port === 'number') ctx.vnc.markUsed([port]);
      const ds = firstDatastore(p['datastore']);
      const dsName = ds === undefined ? undefined : target.datastores.find((d) => morefKey(d.ref) === morefKey(ds))?.name;
      return { driverInfo: { ...instance.driverInfo, vm: vm.ref.value, ...(dsName === undefined ? {} : { datastore: dsName }) } };
    });
  });
}

function serves(ctx: VmwareContext, node: string): boolean {
  try {
    ctx.target(node);
    return true;
  } catch {
    return false;
  }
}

async function powerOff(vm: VirtualMachine, signal: AbortSignal, opId: string): Promise<void> {
  try {
    await vm.powerOff({ signal, opId });
  } catch (err) {
    if (!isFault(err, 'InvalidPowerState')) throw err;
  }
}

async function powerOn(vm: VirtualMachine, signal: AbortSignal, opId: string): Promise<void> {
  try {
    await vm.powerOn({ signal, opId });
  } catch (err) {
    if (!isFault(err, 'InvalidPowerState') || (await vm.powerState({ signal })) !== 'poweredOn') throw err;
  }
}
