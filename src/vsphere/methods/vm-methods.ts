import type { CallOptions, RoundTripper } from '../soap/round-tripper.js';
import type { ManagedObjectReference } from '../types/moref.js';
import type { VirtualMachineCloneSpec, VirtualMachineConfigSpec, VirtualMachineRelocateSpec } from '../types/vm.js';
import { defined, expectMoref, invoke } from './invoke.js';

type Ref = ManagedObjectReference;

/** Starts a task and returns its reference; task/ waits for it. Task starts are never blindly retried. */
async function startTask(rt: RoundTripper, method: string, target: Ref, params: Record<string, unknown>, o?: CallOptions): Promise<Ref> {
  return expectMoref(await invoke(rt, method, target, defined(params), 'once', o), method);
}

export const createVMTask = (rt: RoundTripper, folder: Ref, config: VirtualMachineConfigSpec, pool: Ref, host: Ref | undefined, o?: CallOptions): Promise<Ref> =>
  startTask(rt, 'CreateVM_Task', folder, { config, pool, host }, o);

export const cloneVMTask = (rt: RoundTripper, vm: Ref, folder: Ref, name: string, spec: VirtualMachineCloneSpec, o?: CallOptions): Promise<Ref> =>
  startTask(rt, 'CloneVM_Task', vm, { folder, name, spec }, o);

export const reconfigVMTask = (rt: RoundTripper, vm: Ref, spec: VirtualMachineConfigSpec, o?: CallOptions): Promise<Ref> =>
  startTask(rt, 'ReconfigVM_Task', vm, { spec }, o);

export const relocateVMTask = (rt: RoundTripper, vm: Ref, spec: VirtualMachineRelocateSpec, priority: string | undefined, o?: CallOptions): Promise<Ref> =>
  startTask(rt, 'RelocateVM_Task', vm, { spec, priority }, o);

export const powerOnVMTask = (rt: RoundTripper, vm: Ref, host: Ref | undefined, o?: CallOptions): Promise<Ref> =>
  startTask(rt, 'PowerOnVM_Task', vm, { host }, o);

export const powerOffVMTask = (rt: RoundTripper, vm: Ref, o?: CallOptions): Promise<Ref> => startTask(rt, 'PowerOffVM_Task', vm, {}, o);

export const resetVMTask = (rt: RoundTripper, vm: Ref, o?: CallOptions): Promise<Ref> => startTask(rt, 'ResetVM_Task', vm, {}, o);

export const suspendVMTask = (rt: RoundTripper, vm: Ref, o?: CallOptions): Promise<Ref> => startTask(rt, 'SuspendVM_Task', vm, {}, o);

export const destroyTask = (rt: RoundTripper, entity: Ref, o?: CallOptions): Promise<Ref> => startTask(rt, 'Destroy_Task', entity, {}, o);

export async function shutdownGuest(rt: RoundTripper, vm: Ref, o?: CallOptions): Promise<void> {
  await invoke(rt, 'ShutdownGuest', vm, {}, 'once', o);
}

export async function rebootGuest(rt: RoundTripper, vm: Ref, o?: CallOptions): Promise<void> {
  await invoke(rt, 'RebootGuest', vm, {}, 'once', o);
}

export const createSnapshotTask = (rt: RoundTripper, vm: Ref, name: string, description: string | undefined, memory: boolean, quiesce: boolean, o?: CallOptions): Promise<Ref> =>
  startTask(rt, 'CreateSnapshot_Task', vm, { name, description, memory, quiesce }, o);

export const removeSnapshotTask = (rt: RoundTripper, snapshot: Ref, removeChildren: boolean, consolidate: boolean | undefined, o?: CallOptions): Promise<Ref> =>
  startTask(rt, 'RemoveSnapshot_Task', snapshot, { removeChildren, consolidate }, o);

export async function markAsTemplate(rt: RoundTripper, vm: Ref, o?: CallOptions): Promise<void> {
  await invoke(rt, 'MarkAsTemplate', vm, {}, 'once', o);
}
