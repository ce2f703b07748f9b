import { destroyTask } from '../methods/vm-methods.js';
import type { PropertyCollector } from '../property/collector.js';
import type { CallOptions, RoundTripper } from '../soap/round-tripper.js';
import type { TaskWaiter, TaskWaitOptions } from '../task/task-waiter.js';
import { isMoref, morefKey, type ManagedObjectReference } from '../types/moref.js';
import type { ServiceContent } from '../types/service.js';
import { VsphereTransportError } from '../soap/errors.js';

/** What object handles need from the client: no more, so they stay cheap. */
export interface VimContext {
  readonly rt: RoundTripper;
  readonly pc: PropertyCollector;
  readonly tasks: TaskWaiter;
  readonly content: ServiceContent;
}

/** Options of a friendly method that starts a task and waits for it. */
export type TaskCallOptions = CallOptions & Pick<TaskWaitOptions, 'onProgress'>;

/**
 * A handle: the client context plus a managed-object reference, no cached state. Read
 * properties explicitly, by path; friendly methods start the task and await it.
 */
export class ManagedObject {
  constructor(
    readonly ctx: VimContext,
    readonly ref: ManagedObjectReference,
  ) {}

  toString(): string {
    return morefKey(this.ref);
  }

  /** Reads the given property paths in one round trip. */
  properties<P extends string>(paths: readonly P[], options: CallOptions = {}): Promise<Partial<Record<P, unknown>>> {
    return this.ctx.pc.retrieveOne(this.ref, paths, options);
  }

  async name(options: CallOptions = {}): Promise<string> {
    const { name } = await this.properties(['name'], options);
    return typeof name === 'string' ? name : '';
  }

  /** Reads a property that must be a reference (`parent`, `resourcePool`, ...). */
  protected async refProperty(path: string, options: CallOptions = {}): Promise<ManagedObjectReference> {
    const props: Partial<Record<string, unknown>> = await this.properties([path], options);
    const v = props[path];
    if (!isMoref(v)) throw new VsphereTransportError(`${morefKey(this.ref)} has no ${path}`, { retryable: false, sent: true });
    return v;
  }

  protected async refsProperty(path: string, options: CallOptions = {}): Promise<ManagedObjectReference[]> {
    const props: Partial<Record<string, unknown>> = await this.properties([path], options);
    const v = props[path];
    return Array.isArray(v) ? v.filter(isMoref) : [];
  }

  /** Awaits a task started by `start`; resolves with its result. */
  protected async runTask(start: Promise<ManagedObjectReference>, options: TaskCallOptions): Promise<unknown> {
    const task = await start;
    return this.ctx.tasks.wait(task, {
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    });
  }

  /** Destroy_Task: removes the entity (for a VM: deletes its files too). */
  async destroy(options: TaskCallOptions = {}): Promise<void> {
    await this.runTask(destroyTask(this.ctx.rt, this.ref, options), options);
  }
}

export function expectRef(v: unknown, what: string): ManagedObjectReference {
  if (!isMoref(v)) throw new VsphereTransportError(`${what} returned no reference`, { retryable: false, sent: true });
  return v;
}
