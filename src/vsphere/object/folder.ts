import { createFolder } from '../methods/inventory-methods.js';
import { createVMTask } from '../methods/vm-methods.js';
import type { CallOptions } from '../soap/round-tripper.js';
import type { ManagedObjectReference } from '../types/moref.js';
import type { VirtualMachineConfigSpec } from '../types/vm.js';
import { expectRef, ManagedObject, type TaskCallOptions } from './managed-object.js';
import { VirtualMachine } from './virtual-machine.js';

export class Folder extends ManagedObject {
  async createFolder(name: string, options: CallOptions = {}): Promise<Folder> {
    return new Folder(this.ctx, await createFolder(this.ctx.rt, this.ref, name, options));
  }

  /** CreateVM_Task in this (VM) folder, in `pool`, optionally on `host`. */
  async createVM(config: VirtualMachineConfigSpec, pool: ManagedObjectReference, options: TaskCallOptions & { host?: ManagedObjectReference } = {}): Promise<VirtualMachine> {
    const ref = expectRef(await this.runTask(createVMTask(this.ctx.rt, this.ref, config, pool, options.host, options), options), 'CreateVM_Task');
    return new VirtualMachine(this.ctx, ref);
  }

  async children(options: CallOptions = {}): Promise<ManagedObjectReference[]> {
    return this.refsProperty('childEntity', options);
  }
}
