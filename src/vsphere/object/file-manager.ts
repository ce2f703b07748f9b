import { copyDatastoreFileTask, deleteDatastoreFileTask, makeDirectory, moveDatastoreFileTask } from '../methods/file-methods.js';
import type { CallOptions } from '../soap/round-tripper.js';
import type { ManagedObjectReference } from '../types/moref.js';
import { ManagedObject, type TaskCallOptions } from './managed-object.js';

/** FileManager: datastore paths are "[datastore] dir/file"; the datacenter resolves the datastore name. */
export class FileManager extends ManagedObject {
  makeDirectory(path: string, datacenter: ManagedObjectReference, options: CallOptions & { createParents?: boolean } = {}): Promise<void> {
    return makeDirectory(this.ctx.rt, this.ref, path, datacenter, options.createParents ?? true, options);
  }

  async deleteFile(path: string, datacenter: ManagedObjectReference, options: TaskCallOptions = {}): Promise<void> {
    await this.runTask(deleteDatastoreFileTask(this.ctx.rt, this.ref, path, datacenter, options), options);
  }

  async copyFile(source: string, destination: string, datacenter: ManagedObjectReference, options: TaskCallOptions & { force?: boolean } = {}): Promise<void> {
    await this.runTask(copyDatastoreFileTask(this.ctx.rt, this.ref, source, datacenter, destination, datacenter, options.force ?? false, options), options);
  }

  async moveFile(source: string, destination: string, datacenter: ManagedObjectReference, options: TaskCallOptions & { force?: boolean } = {}): Promise<void> {
    await this.runTask(moveDatastoreFileTask(this.ctx.rt, this.ref, source, datacenter, destination, datacenter, options.force ?? false, options), options);
  }
}
