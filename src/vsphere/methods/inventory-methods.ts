import type { CallOptions, RoundTripper } from '../soap/round-tripper.js';
import type { ManagedObjectReference } from '../types/moref.js';
import type { HostPortGroupSpec } from '../types/network.js';
import type { EntityPrivilege } from '../types/service.js';
import { defined, expectArray, expectMoref, invoke } from './invoke.js';

type Ref = ManagedObjectReference;

export async function createFolder(rt: RoundTripper, parent: Ref, name: string, o?: CallOptions): Promise<Ref> {
  return expectMoref(await invoke(rt, 'CreateFolder', parent, { name }, 'once', o), 'CreateFolder');
}

export async function addPortGroup(rt: RoundTripper, networkSystem: Ref, portgrp: HostPortGroupSpec, o?: CallOptions): Promise<void> {
  await invoke(rt, 'AddPortGroup', networkSystem, { portgrp }, 'once', o);
}

export async function findByInventoryPath(rt: RoundTripper, searchIndex: Ref, inventoryPath: string, o?: CallOptions): Promise<Ref | undefined> {
  const v = await invoke(rt, 'FindByInventoryPath', searchIndex, { inventoryPath }, 'idempotent', o);
  return v === undefined ? undefined : expectMoref(v, 'FindByInventoryPath');
}

export async function hasPrivilegeOnEntities(rt: RoundTripper, authz: Ref, entity: readonly Ref[], sessionId: string, privId: readonly string[], o?: CallOptions): Promise<EntityPrivilege[]> {
  return expectArray<EntityPrivilege>(await invoke(rt, 'HasPrivilegeOnEntities', authz, { entity, sessionId, privId }, 'idempotent', o), 'HasPrivilegeOnEntities');
}

export async function fetchUserPrivilegeOnEntities(rt: RoundTripper, authz: Ref, entities: readonly Ref[], userName: string, o?: CallOptions): Promise<{ entity: Ref; privileges?: string[] }[]> {
  return expectArray(await invoke(rt, 'FetchUserPrivilegeOnEntities', authz, { entities, userName }, 'idempotent', o), 'FetchUserPrivilegeOnEntities');
}

/** SearchIndex.FindByUuid: a VM by its BIOS uuid or (instanceUuid = true) its vCenter instance uuid. */
export async function findByUuid(rt: RoundTripper, searchIndex: Ref, uuid: string, vmSearch: boolean, instanceUuid: boolean | undefined, datacenter: Ref | undefined, o?: CallOptions): Promise<Ref | undefined> {
  const v = await invoke(rt, 'FindByUuid', searchIndex, defined({ datacenter, uuid, vmSearch, instanceUuid }), 'idempotent', o);
  return v === undefined ? undefined : expectMoref(v, 'FindByUuid');
}
