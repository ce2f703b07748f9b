import { copyVirtualDiskTask, createVirtualDiskTask, deleteVirtualDiskTask } from '../methods/file-methods.js';
import type { FileBackedVirtualDiskSpec, VirtualDiskSpec } from '../types/datastore.js';
import type { ManagedObjectReference } from '../types/moref.js';
import { ManagedObject, type TaskCallOptions } from './managed-object.js';

export class VirtualDiskManager extends ManagedObject {
  async copyVirtualDisk(source: string, destination: string, datacenter: ManagedObjectReference, options: TaskCallOptions & { destSpec?: VirtualDiskSpec; force?: boolean } = {}): Promise<void> {
    await this.runTask(copyVirtualDiskTask(this.ctx.rt, this.ref, source, datacenter, destination, datacenter, options.destSpec, options.force ?? false, options), options);
  }

  async createVirtualDisk(path: string, datacenter: ManagedObjectReference, spec: FileBackedVirtualDiskSpec, options: TaskCallOptions = {}): Promise<void> {
    await this.runTask(createVirtualDiskTask(this.ctx.rt, this.ref, path, datacenter, { _type: 'FileBackedVirtualDiskSpec', ...spec }, options), options);
  }

  async deleteVirtualDisk(path: string, datacenter: ManagedObjectReference, options: TaskCallOptions = {}): Promise<void> {
    await this.runTask(deleteVirtualDiskTask(this.ctx.rt, this.ref, path, datacenter, options), options);
  }
}
