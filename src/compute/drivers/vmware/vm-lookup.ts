import { isFault, methods, moref, type VirtualMachine } from '../../../vsphere/index.js';
import { InstanceNotFoundError, type InstanceRef } from '../driver.js';
import type { VmwareContext } from './context.js';

/**
 * The VM of an instance: the moref spawn stored (no round trip), else a FindByUuid on
 * the instance uuid (which spawn set as the VM's instanceUuid). Undefined when vCenter
 * has no such VM.
 */
export async function findVm(ctx: VmwareContext, instance: InstanceRef, signal: AbortSignal): Promise<VirtualMachine | undefined> {
  const stored = instance.driverInfo['vm'];
  if (typeof stored === 'string' && stored !== '') return ctx.client.vm(moref('VirtualMachine', stored));
  return searchVm(ctx, instance.uuid, signal);
}

export async function searchVm(ctx: VmwareContext, uuid: string, signal: AbortSignal): Promise<VirtualMachine | undefined> {
  const index = ctx.client.content.searchIndex;
  if (index === undefined) return undefined;
  const ref = await methods.findByUuid(ctx.client.rt, index, uuid, true, true, undefined, { signal });
  return ref === undefined ? undefined : ctx.client.vm(ref);
}

/**
 * Runs `fn` on the instance's VM; if the stored moref is stale (the VM was re-registered
 * or removed), looks it up once by uuid. Throws InstanceNotFoundError when it is gone.
 */
export async function withVm<T>(ctx: VmwareContext, instance: InstanceRef, signal: AbortSignal, fn: (vm: VirtualMachine) => Promise<T>): Promise<T> {
  const vm = await findVm(ctx, instance, signal);
  if (vm === undefined) throw new InstanceNotFoundError(instance.uuid);
  try {
    return await fn(vm);
  } catch (err) {
    if (!isFault(err, 'ManagedObjectNotFound') || instance.driverInfo['vm'] === undefined) throw err;
    const again = await searchVm(ctx, instance.uuid, signal);
    if (again === undefined || again.ref.value === vm.ref.value) throw new InstanceNotFoundError(instance.uuid);
    return fn(again);
  }
}
