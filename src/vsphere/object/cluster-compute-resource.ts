import type { CallOptions } from '../soap/round-tripper.js';
import { HostSystem } from './host-system.js';
import { Datastore } from './datastore.js';
import { ManagedObject } from './managed-object.js';
import { ResourcePool } from './resource-pool.js';

/** A cluster (one compute node for the driver) or a standalone host's ComputeResource. */
export class ClusterComputeResource extends ManagedObject {
  async resourcePool(options: CallOptions = {}): Promise<ResourcePool> {
    return new ResourcePool(this.ctx, await this.refProperty('resourcePool', options));
  }

  async hosts(options: CallOptions = {}): Promise<HostSystem[]> {
    return (await this.refsProperty('host', options)).map((r) => new HostSystem(this.ctx, r));
  }

  async datastores(options: CallOptions = {}): Promise<Datastore[]> {
    return (await this.refsProperty('datastore', options)).map((r) => new Datastore(this.ctx, r));
  }
}
