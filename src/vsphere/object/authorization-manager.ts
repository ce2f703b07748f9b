import { fetchUserPrivilegeOnEntities, hasPrivilegeOnEntities } from '../methods/inventory-methods.js';
import type { CallOptions } from '../soap/round-tripper.js';
import { morefKey, type ManagedObjectReference } from '../types/moref.js';
import { ManagedObject } from './managed-object.js';

export class AuthorizationManager extends ManagedObject {
  /** For each entity, which of `privIds` the session holds: Map of "Type:value" → privId → granted. */
  async hasPrivilegeOnEntities(entities: readonly ManagedObjectReference[], sessionId: string, privIds: readonly string[], options: CallOptions = {}): Promise<Map<string, Map<string, boolean>>> {
    const res = await hasPrivilegeOnEntities(this.ctx.rt, this.ref, entities, sessionId, privIds, options);
    return new Map(res.map((e) => [morefKey(e.entity), new Map(e.privAvailability.map((p) => [p.privId, p.isGranted]))]));
  }

  /** The privileges `userName` holds on each entity: Map of "Type:value" → privilege ids. */
  async fetchUserPrivilegeOnEntities(entities: readonly ManagedObjectReference[], userName: string, options: CallOptions = {}): Promise<Map<string, string[]>> {
    const res = await fetchUserPrivilegeOnEntities(this.ctx.rt, this.ref, entities, userName, options);
    return new Map(res.map((e) => [morefKey(e.entity), e.privileges ?? []]));
  }
}
