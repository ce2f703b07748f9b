import { addPortGroup } from '../methods/inventory-methods.js';
import type { CallOptions } from '../soap/round-tripper.js';
import type { ManagedObjectReference } from '../types/moref.js';
import type { HostPortGroupSpec } from '../types/network.js';
import { ManagedObject } from './managed-object.js';

export class HostSystem extends ManagedObject {
  networkSystem(options: CallOptions = {}): Promise<ManagedObjectReference> {
    return this.refProperty('configManager.networkSystem', options);
  }

  /** Adds a standard port group to one of the host's vSwitches. */
  async addPortGroup(spec: { name: string; vswitchName: string; vlanId?: number }, options: CallOptions = {}): Promise<void> {
    const portgrp: HostPortGroupSpec = { name: spec.name, vlanId: spec.vlanId ?? 0, vswitchName: spec.vswitchName, policy: { _type: 'HostNetworkPolicy' } };
    await addPortGroup(this.ctx.rt, await this.networkSystem(options), portgrp, options);
  }
}
