import type { CallOptions } from '../soap/round-tripper.js';
import type { ManagedObjectReference } from '../types/moref.js';
import { ManagedObject } from './managed-object.js';

export class ResourcePool extends ManagedObject {
  async vms(options: CallOptions = {}): Promise<ManagedObjectReference[]> {
    return this.refsProperty('vm', options);
  }
}
