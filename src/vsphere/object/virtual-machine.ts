import {
  cloneVMTask, createSnapshotTask, markAsTemplate, powerOffVMTask, powerOnVMTask, rebootGuest, reconfigVMTask, relocateVMTask,
  removeSnapshotTask, resetVMTask, shutdownGuest, suspendVMTask,
} from '../methods/vm-methods.js';
import type { CallOptions } from '../soap/round-tripper.js';
import type { ManagedObjectReference } from '../types/moref.js';
import type { VirtualMachineCloneSpec, VirtualMachineConfigSpec, VirtualMachinePowerState, VirtualMachineRelocateSpec } from '../types/vm.js';
import { expectRef, ManagedObject, type TaskCallOptions } from './managed-object.js';

export class VirtualMachine extends ManagedObject {
  async powerState(options: CallOptions = {}): Promise<VirtualMachinePowerState> {
    const { 'runtime.powerState': state } = await this.properties(['runtime.powerState'], options);
    return state as VirtualMachinePowerState;
  }

  async powerOn(options: TaskCallOptions & { host?: ManagedObjectReference } = {}): Promise<void> {
    await this.runTask(powerOnVMTask(this.ctx.rt, this.ref, options.host, options), options);
  }

  async powerOff(options: TaskCallOptions = {}): Promise<void> {
    await this.runTask(powerOffVMTask(this.ctx.rt, this.ref, options), options);
  }

  async reset(options: TaskCallOptions = {}): Promise<void> {
    await this.runTask(resetVMTask(this.ctx.rt, this.ref, options), options);
  }

  async suspend(options: TaskCallOptions = {}): Promise<void> {
    await this.runTask(suspendVMTask(this.ctx.rt, this.ref, options), options);
  }

  /** Asks the guest OS to shut down (no task: returns once the request is accepted). */
  shutdownGuest(options: CallOptions = {}): Promise<void> {
    return shutdownGuest(this.ctx.rt, this.ref, options);
  }

  rebootGuest(options: CallOptions = {}): Promise<void> {
    return rebootGuest(this.ctx.rt, this.ref, options);
  }

  async reconfigure(spec: VirtualMachineConfigSpec, options: TaskCallOptions = {}): Promise<void> {
    await this.runTask(reconfigVMTask(this.ctx.rt, this.ref, spec), options);
  }

  async clone(folder: ManagedObjectReference, name: string, spec: VirtualMachineCloneSpec, options: TaskCallOptions = {}): Promise<VirtualMachine> {
    const ref = expectRef(await this.runTask(cloneVMTask(this.ctx.rt, this.ref, folder, name, spec, options), options), 'CloneVM_Task');
    return new VirtualMachine(this.ctx, ref);
  }

  async relocate(spec: VirtualMachineRelocateSpec, options: TaskCallOptions & { priority?: 'defaultPriority' | 'highPriority' | 'lowPriority' } = {}): Promise<void> {
    await this.runTask(relocateVMTask(this.ctx.rt, this.ref, spec, options.priority, options), options);
  }

  /** Takes a snapshot; returns the VirtualMachineSnapshot reference. */
  async createSnapshot(name: string, options: TaskCallOptions & { description?: string; memory?: boolean; quiesce?: boolean } = {}): Promise<ManagedObjectReference> {
    const start = createSnapshotTask(this.ctx.rt, this.ref, name, options.description, options.memory ?? false, options.quiesce ?? false, options);
    return expectRef(await this.runTask(start, options), 'CreateSnapshot_Task');
  }

  async removeSnapshot(snapshot: ManagedObjectReference, options: TaskCallOptions & { removeChildren?: boolean; consolidate?: boolean } = {}): Promise<void> {
    await this.runTask(removeSnapshotTask(this.ctx.rt, snapshot, options.removeChildren ?? false, options.consolidate, options), options);
  }

  /** Turns the (powered-off) VM into a template. */
  markAsTemplate(options: CallOptions = {}): Promise<void> {
    return markAsTemplate(this.ctx.rt, this.ref, options);
  }
}
