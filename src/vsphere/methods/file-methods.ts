import type { CallOptions, RoundTripper } from '../soap/round-tripper.js';
import type { ManagedObjectReference } from '../types/moref.js';
import type { FileBackedVirtualDiskSpec, HostDatastoreBrowserSearchSpec, VirtualDiskSpec } from '../types/datastore.js';
import { defined, expectMoref, invoke } from './invoke.js';

type Ref = ManagedObjectReference;

async function startTask(rt: RoundTripper, method: string, target: Ref, params: Record<string, unknown>, o?: CallOptions): Promise<Ref> {
  return expectMoref(await invoke(rt, method, target, defined(params), 'once', o), method);
}

export async function makeDirectory(rt: RoundTripper, fm: Ref, name: string, datacenter: Ref | undefined, createParentDirectories: boolean, o?: CallOptions): Promise<void> {
  await invoke(rt, 'MakeDirectory', fm, defined({ name, datacenter, createParentDirectories }), 'once', o);
}

export const deleteDatastoreFileTask = (rt: RoundTripper, fm: Ref, name: string, datacenter: Ref | undefined, o?: CallOptions): Promise<Ref> =>
  startTask(rt, 'DeleteDatastoreFile_Task', fm, { name, datacenter }, o);

export const copyDatastoreFileTask = (rt: RoundTripper, fm: Ref, sourceName: string, sourceDatacenter: Ref | undefined, destinationName: string, destinationDatacenter: Ref | undefined, force: boolean, o?: CallOptions): Promise<Ref> =>
  startTask(rt, 'CopyDatastoreFile_Task', fm, { sourceName, sourceDatacenter, destinationName, destinationDatacenter, force }, o);

export const moveDatastoreFileTask = (rt: RoundTripper, fm: Ref, sourceName: string, sourceDatacenter: Ref | undefined, destinationName: string, destinationDatacenter: Ref | undefined, force: boolean, o?: CallOptions): Promise<Ref> =>
  startTask(rt, 'MoveDatastoreFile_Task', fm, { sourceName, sourceDatacenter, destinationName, destinationDatacenter, force }, o);

export const copyVirtualDiskTask = (rt: RoundTripper, vdm: Ref, sourceName: string, sourceDatacenter: Ref | undefined, destName: string, destDatacenter: Ref | undefined, destSpec: VirtualDiskSpec | undefined, force: boolean, o?: CallOptions): Promise<Ref> =>
  startTask(rt, 'CopyVirtualDisk_Task', vdm, { sourceName, sourceDatacenter, destName, destDatacenter, destSpec, force }, o);

export const createVirtualDiskTask = (rt: RoundTripper, vdm: Ref, name: string, datacenter: Ref | undefined, spec: FileBackedVirtualDiskSpec, o?: CallOptions): Promise<Ref> =>
  startTask(rt, 'CreateVirtualDisk_Task', vdm, { name, datacenter, spec }, o);

export const deleteVirtualDiskTask = (rt: RoundTripper, vdm: Ref, name: string, datacenter: Ref | undefined, o?: CallOptions): Promise<Ref> =>
  startTask(rt, 'DeleteVirtualDisk_Task', vdm, { name, datacenter }, o);

export async function searchDatastoreTask(rt: RoundTripper, browser: Ref, datastorePath: string, searchSpec: HostDatastoreBrowserSearchSpec | undefined, o?: CallOptions): Promise<Ref> {
  // A search reads only: safe to send again.
  return expectMoref(await invoke(rt, 'SearchDatastore_Task', browser, defined({ datastorePath, searchSpec }), 'idempotent', o), 'SearchDatastore_Task');
}

export async function searchDatastoreSubFoldersTask(rt: RoundTripper, browser: Ref, datastorePath: string, searchSpec: HostDatastoreBrowserSearchSpec | undefined, o?: CallOptions): Promise<Ref> {
  return expectMoref(await invoke(rt, 'SearchDatastoreSubFolders_Task', browser, defined({ datastorePath, searchSpec }), 'idempotent', o), 'SearchDatastoreSubFolders_Task');
}
