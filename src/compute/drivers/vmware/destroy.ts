import { isFault, type VirtualMachine } from '../../../vsphere/index.js';
import type { InstanceRef } from '../driver.js';
import { driverFailure, stepOpId, type VmwareContext } from './context.js';
import { holdForRevert } from './move-release.js';
import { findVm, searchVm } from './vm-lookup.js';

/**
 * Destroys an instance: power off, Destroy_Task (which deletes the VM's files), then its
 * datastore folder if anything is left there. Succeeds when the VM is already gone. A VM a
 * finished resize holds for a revert is only released (see move-release.ts).
 */
export async function destroy(ctx: VmwareContext, instance: InstanceRef, signal: AbortSignal): Promise<void> {
  let step = 'looking up the VM';
  const opId = stepOpId(instance.uuid, 'destroy');
  try {
    if (instance.driverInfo['movePending'] === true) {
      step = 'releasing the resized VM';
      if (await holdForRevert(ctx, instance, signal)) return;
    }
    let vm = await findVm(ctx, instance, signal);
    if (vm !== undefined && !(await removeVm(vm, signal, opId, (s) => (step = s)))) {
      // The stored moref was stale: look for the VM by uuid once.
      vm = await searchVm(ctx, instance.uuid, signal);
      if (vm !== undefined) await removeVm(vm, signal, opId, (s) => (step = s));
    }
    const datastore = instance.driverInfo['datastore'];
    if (typeof datastore === 'string') {
      step = 'removing the instance folder';
      const target = ctx.target(instance.node);
      await ctx.client.fileManager().deleteFile(`[${datastore}] ${instance.uuid}`, target.datacenter.ref, { signal, opId }).catch((err: unknown) => {
        if (!isFault(err, 'FileNotFound')) throw err;
      });
    }
    const port = instance.driverInfo['vncPort'];
    if (typeof port === 'number') ctx.vnc.release(port);
  } catch (err) {
    throw driverFailure('destroy', step, opId, err);
  }
}

/** Powers off and destroys; false when the VM does not exist (any more). */
export async function removeVm(vm: VirtualMachine, signal: AbortSignal, opId: string, at: (step: string) => void): Promise<boolean> {
  try {
    at('powering off');
    const state = await vm.powerState({ signal });
    if (state === undefined) return false;
    if (state !== 'poweredOff') {
      await vm.powerOff({ signal, opId }).catch((err: unknown) => {
        if (!isFault(err, 'InvalidPowerState')) throw err;
      });
    }
    at('destroying the VM');
    await vm.destroy({ signal, opId });
    return true;
  } catch (err) {
    if (isFault(err, 'ManagedObjectNotFound')) return false;
    throw err;
  }
}
