import { cancelWaitForUpdates, continueRetrievePropertiesEx, createFilter, destroyPropertyFilter, retrievePropertiesEx, waitForUpdatesEx } from '../methods/property-methods.js';
import type { CallOptions, RoundTripper } from '../soap/round-tripper.js';
import { morefKey, type ManagedObjectReference } from '../types/moref.js';
import type { ObjectContent, PropertyFilterSpec, PropertySpec, UpdateSet, WaitOptions } from '../types/property.js';

/** The properties of one object, by path, as read (paths that are unset are absent). */
export interface ObjectProperties<P extends string = string> {
  readonly ref: ManagedObjectReference;
  readonly props: Partial<Record<P, unknown>>;
  /** Paths the server could not read, with the fault type (e.g. NoPermission). */
  readonly missing: Readonly<Record<string, string>>;
}

export function toProperties<P extends string>(content: ObjectContent): ObjectProperties<P> {
  const props: Partial<Record<P, unknown>> = {};
  for (const p of content.propSet ?? []) props[p.name as P] = p.val;
  const missing: Record<string, string> = {};
  for (const m of content.missingSet ?? []) missing[m.path] = m.fault.fault._type;
  return { ref: content.obj, props, missing };
}

/**
 * A PropertyCollector: RetrievePropertiesEx with ContinueRetrievePropertiesEx paging,
 * convenience reads by path, filters and WaitForUpdatesEx with a version cursor.
 */
export class PropertyCollector {
  constructor(
    readonly rt: RoundTripper,
    readonly ref: ManagedObjectReference,
  ) {}

  /**
   * All objects matching the specs, following the paging token until the server has
   * sent everything; `maxObjects` bounds each page (not the total).
   */
  async retrieve(specSet: readonly PropertyFilterSpec[], options: { maxObjects?: number } & CallOptions = {}): Promise<ObjectContent[]> {
    const { maxObjects, ...call } = options;
    let page = await retrievePropertiesEx(this.rt, this.ref, specSet, maxObjects === undefined ? {} : { maxObjects }, call);
    const out: ObjectContent[] = [...(page?.objects ?? [])];
    while (page?.token !== undefined) {
      page = await continueRetrievePropertiesEx(this.rt, this.ref, page.token, call);
      out.push(...(page.objects ?? []));
    }
    return out;
  }

  /** Reads `paths` of each object (all of one type or mixed), in one round trip. */
  async retrieveMany<P extends string>(refs: readonly ManagedObjectReference[], paths: readonly P[], options: CallOptions = {}): Promise<ObjectProperties<P>[]> {
    if (refs.length === 0) return [];
    const types = [...new Set(refs.map((r) => r.type))];
    const spec: PropertyFilterSpec = {
      propSet: types.map((type): PropertySpec => ({ type, pathSet: paths })),
      objectSet: refs.map((obj) => ({ obj, skip: false })),
    };
    const byKey = new Map((await this.retrieve([spec], options)).map((c) => [morefKey(c.obj), toProperties<P>(c)]));
    return refs.map((r) => byKey.get(morefKey(r)) ?? { ref: r, props: {}, missing: {} });
  }

  /** Reads `paths` of one object. */
  async retrieveOne<P extends string>(ref: ManagedObjectReference, paths: readonly P[], options: CallOptions = {}): Promise<Partial<Record<P, unknown>>> {
    const [one] = await this.retrieveMany([ref], paths, options);
    return one?.props ?? {};
  }

  createFilter(spec: PropertyFilterSpec, options: { partialUpdates?: boolean } & CallOptions = {}): Promise<ManagedObjectReference> {
    const { partialUpdates, ...call } = options;
    return createFilter(this.rt, this.ref, spec, partialUpdates ?? false, call);
  }

  destroyFilter(filter: ManagedObjectReference, options: CallOptions = {}): Promise<void> {
    return destroyPropertyFilter(this.rt, filter, options);
  }

  /**
   * One WaitForUpdatesEx: pass the version of the last update set ("" for the initial
   * state). Returns undefined when `maxWaitSeconds` passed with no change.
   */
  waitForUpdates(version: string, options: WaitOptions & CallOptions = {}): Promise<UpdateSet | undefined> {
    const { maxWaitSeconds, maxObjectUpdates, signal, timeoutMs, opId } = options;
    const wait: WaitOptions = { ...(maxWaitSeconds === undefined ? {} : { maxWaitSeconds }), ...(maxObjectUpdates === undefined ? {} : { maxObjectUpdates }) };
    // The HTTP timeout must outlast the server-side wait.
    const timeout = timeoutMs ?? (maxWaitSeconds === undefined ? 24 * 3600_000 : maxWaitSeconds * 1000 + 30_000);
    return waitForUpdatesEx(this.rt, this.ref, version, wait, { timeoutMs: timeout, ...(signal === undefined ? {} : { signal }), ...(opId === undefined ? {} : { opId }) });
  }

  cancelWaitForUpdates(options: CallOptions = {}): Promise<void> {
    return cancelWaitForUpdates(this.rt, this.ref, options);
  }
}
