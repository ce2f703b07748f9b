import type { CallOptions, RoundTripper } from '../soap/round-tripper.js';
import type { ManagedObjectReference } from '../types/moref.js';
import type { PropertyFilterSpec, RetrieveOptions, RetrieveResult, UpdateSet, WaitOptions } from '../types/property.js';
import { defined, expectMoref, invoke } from './invoke.js';

type Ref = ManagedObjectReference;

export async function retrievePropertiesEx(rt: RoundTripper, pc: Ref, specSet: readonly PropertyFilterSpec[], options: RetrieveOptions, o?: CallOptions): Promise<RetrieveResult | undefined> {
  return (await invoke(rt, 'RetrievePropertiesEx', pc, { specSet, options }, 'idempotent', o)) as RetrieveResult | undefined;
}

export async function continueRetrievePropertiesEx(rt: RoundTripper, pc: Ref, token: string, o?: CallOptions): Promise<RetrieveResult> {
  return (await invoke(rt, 'ContinueRetrievePropertiesEx', pc, { token }, 'idempotent', o)) as RetrieveResult;
}

export async function createPropertyCollector(rt: RoundTripper, pc: Ref, o?: CallOptions): Promise<Ref> {
  return expectMoref(await invoke(rt, 'CreatePropertyCollector', pc, {}, 'once', o), 'CreatePropertyCollector');
}

export async function destroyPropertyCollector(rt: RoundTripper, pc: Ref, o?: CallOptions): Promise<void> {
  await invoke(rt, 'DestroyPropertyCollector', pc, {}, 'idempotent', o);
}

export async function createFilter(rt: RoundTripper, pc: Ref, spec: PropertyFilterSpec, partialUpdates: boolean, o?: CallOptions): Promise<Ref> {
  return expectMoref(await invoke(rt, 'CreateFilter', pc, { spec, partialUpdates }, 'once', o), 'CreateFilter');
}

export async function destroyPropertyFilter(rt: RoundTripper, filter: Ref, o?: CallOptions): Promise<void> {
  await invoke(rt, 'DestroyPropertyFilter', filter, {}, 'idempotent', o);
}

export async function waitForUpdatesEx(rt: RoundTripper, pc: Ref, version: string, options: WaitOptions, o?: CallOptions): Promise<UpdateSet | undefined> {
  return (await invoke(rt, 'WaitForUpdatesEx', pc, { version, options }, 'idempotent', o)) as UpdateSet | undefined;
}

export async function cancelWaitForUpdates(rt: RoundTripper, pc: Ref, o?: CallOptions): Promise<void> {
  await invoke(rt, 'CancelWaitForUpdates', pc, {}, 'idempotent', o);
}

export async function createContainerView(rt: RoundTripper, viewManager: Ref, container: Ref, type: readonly string[], recursive: boolean, o?: CallOptions): Promise<Ref> {
  return expectMoref(await invoke(rt, 'CreateContainerView', viewManager, { container, type, recursive }, 'once', o), 'CreateContainerView');
}

export async function createListView(rt: RoundTripper, viewManager: Ref, obj: readonly Ref[], o?: CallOptions): Promise<Ref> {
  return expectMoref(await invoke(rt, 'CreateListView', viewManager, defined({ obj: obj.length === 0 ? undefined : obj }), 'once', o), 'CreateListView');
}

export async function modifyListView(rt: RoundTripper, view: Ref, add: readonly Ref[], remove: readonly Ref[], o?: CallOptions): Promise<void> {
  await invoke(rt, 'ModifyListView', view, defined({ add: add.length === 0 ? undefined : add, remove: remove.length === 0 ? undefined : remove }), 'once', o);
}

export async function destroyView(rt: RoundTripper, view: Ref, o?: CallOptions): Promise<void> {
  await invoke(rt, 'DestroyView', view, {}, 'idempotent', o);
}
