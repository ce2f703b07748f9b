import { isFault, type VirtualMachine } from '../../../vsphere/index.js';
import type { InstanceRef } from '../driver.js';
import { stepOpId, type VmwareContext } from './context.js';
import { moveOption, readMoveRecord } from './move-record.js';
import { findVm } from './vm-lookup.js';

/**
 * Called by destroy for an instance whose VM a finished resize still holds for a revert
 * (driverInfo.movePending): a revert destroys the destination's copy before the source
 * takes the instance back, but on vSphere both are this one VM. So the VM is only powered
 * off and marked released; the source's finishRevertMigration takes it back, or, when the
 * server was deleted instead, the source's confirm removes it. False: no pending move, so
 * destroy goes on as usual.
 */
export async function holdForRevert(ctx: VmwareContext, instance: InstanceRef, signal: AbortSignal): Promise<boolean> {
  const vm = await findVm(ctx, instance, signal);
  if (vm === undefined) return false;
  let p: Partial<Record<'config.extraConfig' | 'runtime.powerState', unknown>>;
  try {
    p = await vm.properties(['config.extraConfig', 'runtime.powerState'], { signal });
  } catch (err) {
    if (isFault(err, 'ManagedObjectNotFound')) return false;
    throw err;
  }
  const record = readMoveRecord(p['config.extraConfig']);
  if (record === undefined || record.released === true) return false;
  const opId = stepOpId(instance.uuid, 'release');
  if (p['runtime.powerState'] !== 'poweredOff') await powerOff(vm, signal, opId);
  await vm.reconfigure({ extraConfig: [moveOption({ ...record, released: true })] }, { signal, opId });
  ctx.log.info({ instance: instance.uuid }, 'resized VM released by its destination (revert or delete): the source decides its fate');
  return true;
}

async function powerOff(vm: VirtualMachine, signal: AbortSignal, opId: string): Promise<void> {
  try {
    await vm.powerOff({ signal, opId });
  } catch (err) {
    if (!isFault(err, 'InvalidPowerState')) throw err;
  }
}
