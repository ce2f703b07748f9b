import { createContainerView, destroyView } from '../methods/property-methods.js';
import type { CallOptions, RoundTripper } from '../soap/round-tripper.js';
import type { ManagedObjectReference } from '../types/moref.js';
import type { PropertyFilterSpec } from '../types/property.js';
import type { ObjectProperties, PropertyCollector } from './collector.js';
import { toProperties } from './collector.js';
import { viewTraversal } from './traversal.js';

/**
 * A ContainerView: every object of the given types under a container (recursively by
 * default), readable in one RetrievePropertiesEx. Destroy it when done.
 */
export class ContainerView {
  private constructor(
    readonly rt: RoundTripper,
    readonly ref: ManagedObjectReference,
  ) {}

  static async create(rt: RoundTripper, viewManager: ManagedObjectReference, container: ManagedObjectReference, types: readonly string[], options: { recursive?: boolean } & CallOptions = {}): Promise<ContainerView> {
    const { recursive, ...call } = options;
    return new ContainerView(rt, await createContainerView(rt, viewManager, container, types, recursive ?? true, call));
  }

  /** The filter spec selecting everything in the view with the given paths per type. */
  filterSpec(pathsByType: Readonly<Record<string, readonly string[]>>): PropertyFilterSpec {
    return {
      propSet: Object.entries(pathsByType).map(([type, pathSet]) => ({ type, pathSet })),
      objectSet: [{ obj: this.ref, skip: true, selectSet: [viewTraversal('ContainerView')] }],
    };
  }

  async retrieve<P extends string>(pc: PropertyCollector, pathsByType: Readonly<Record<string, readonly P[]>>, options: { maxObjects?: number } & CallOptions = {}): Promise<ObjectProperties<P>[]> {
    return (await pc.retrieve([this.filterSpec(pathsByType)], options)).map((c) => toProperties<P>(c));
  }

  destroy(options: CallOptions = {}): Promise<void> {
    return destroyView(this.rt, this.ref, options);
  }
}
