import type { Logger } from '../../log.js';
import { createFilter, createListView, createPropertyCollector, destroyPropertyCollector, modifyListView } from '../methods/property-methods.js';
import { createVimFault, isFault } from '../soap/fault.js';
import { PolyvisorError } from '../../errors.js';
import type { RoundTripper } from '../soap/round-tripper.js';
import { PropertyCollector } from '../property/collector.js';
import { viewTraversal } from '../property/traversal.js';
import { morefKey, type ManagedObjectReference } from '../types/moref.js';
import type { ObjectUpdate, UpdateSet } from '../types/property.js';
import type { TaskInfo } from '../types/task.js';

export interface TaskWaitOptions {
  readonly signal?: AbortSignal;
  /** Called when the task reports a new percentage. */
  readonly onProgress?: (percent: number, info: TaskInfo) => void;
}

interface Waiter {
  readonly ref: ManagedObjectReference;
  readonly resolve: (info: TaskInfo) => void;
  readonly reject: (err: Error) => void;
  readonly onProgress: ((percent: number, info: TaskInfo) => void) | undefined;
  lastProgress: number | undefined;
}

interface Watch {
  readonly generation: number;
  readonly pc: PropertyCollector;
  readonly view: ManagedObjectReference;
  version: string;
}

/**
 * Awaits tasks through WaitForUpdatesEx, never by polling: one private PropertyCollector
 * with one filter over a ListView of the tasks being awaited. A new task costs one
 * ModifyListView (tasks added in the same tick share it, and finished tasks are removed
 * in the same call); completion arrives in the long-poll that all waiters share. The
 * collector, view and filter belong to the session: after a re-login they are rebuilt
 * with every task still awaited.
 */
export class TaskWaiter {
  readonly #pending = new Map<string, Waiter>();
  readonly #toAdd = new Map<string, ManagedObjectReference>();
  readonly #toRemove = new Map<string, ManagedObjectReference>();
  #watch: Promise<Watch> | undefined;
  #flushing: Promise<void> | undefined;
  #loop: Promise<void> | undefined;
  readonly #stop = new AbortController();

  constructor(
    private readonly rt: RoundTripper,
    private readonly rootCollector: ManagedObjectReference,
    private readonly viewManager: ManagedObjectReference,
    private readonly generation: () => number,
    private readonly log: Logger,
  ) {}

  /** Waits for the task and returns its result (a reference for CreateVM_Task, ...); a task error is thrown as its typed fault. */
  async wait(task: ManagedObjectReference, options: TaskWaitOptions = {}): Promise<unknown> {
    return (await this.waitForInfo(task, options)).result;
  }

  /** Waits for the task and returns its final TaskInfo (state success). */
  waitForInfo(task: ManagedObjectReference, options: TaskWaitOptions = {}): Promise<TaskInfo> {
    if (this.#stop.signal.aborted) return Promise.reject(new PolyvisorError('vsphere_closed', 'the vSphere client is closed'));
    const key = morefKey(task);
    return new Promise<TaskInfo>((resolve, reject) => {
      const { signal } = options;
      const onAbort = (): void => {
        this.#pending.delete(key);
        reject(new PolyvisorError('vsphere_aborted', `waiting for task ${task.value} was aborted`, { cause: signal?.reason }));
      };
      if (signal?.aborted === true) {
        onAbort();
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = (): void => signal?.removeEventListener('abort', onAbort);
      this.#pending.set(key, {
        ref: task,
        resolve: (info) => {
          done();
          resolve(info);
        },
        reject: (err) => {
          done();
          reject(err);
        },
        onProgress: options.onProgress,
        lastProgress: undefined,
      });
      this.#toAdd.set(key, task);
      this.#scheduleFlush();
    });
  }

  /** Coalesces the tasks added in this tick into one ModifyListView, then makes sure the loop runs. */
  #scheduleFlush(): void {
    if (this.#flushing !== undefined) return;
    this.#flushing = Promise.resolve()
      .then(() => this.#flush())
      .catch((err: unknown) => this.#failAll(err))
      .finally(() => {
        this.#flushing = undefined;
        if (this.#toAdd.size > 0) this.#scheduleFlush();
        this.#ensureLoop();
      });
  }

  async #flush(): Promise<void> {
    const add = [...this.#toAdd.values()].filter((r) => this.#pending.has(morefKey(r)));
    const remove = [...this.#toRemove.values()];
    this.#toAdd.clear();
    this.#toRemove.clear();
    if (add.length === 0) return;
    const watchP = this.#watch;
    const watch = watchP === undefined ? undefined : await watchP;
    if (watch === undefined || watch.generation !== this.generation()) {
      await this.#rebuild([...this.#pending.values()].map((w) => w.ref));
      return;
    }
    try {
      await modifyListView(this.rt, watch.view, add, remove, { signal: this.#stop.signal });
    } catch (err) {
      // The session ended under us (terminated by an administrator, expired): the call was
      // retried on a new session, where the old session's view does not exist. Rebuild the
      // watch with every task still awaited instead of failing them.
      if (this.#stop.signal.aborted || !(isFault(err, 'ManagedObjectNotFound') || watch.generation !== this.generation())) throw err;
      this.log.info({ pending: this.#pending.size }, 'rebuilding the task watch after a new session');
      if (this.#watch === watchP) this.#watch = undefined;
      await this.#rebuild([...this.#pending.values()].map((w) => w.ref));
    }
  }

  /** Creates the collector, view (with `initial` in it) and filter for this session. */
  #rebuild(initial: readonly ManagedObjectReference[]): Promise<Watch> {
    const generation = this.generation();
    const o = { signal: this.#stop.signal };
    this.#watch = (async (): Promise<Watch> => {
      const pc = new PropertyCollector(this.rt, await createPropertyCollector(this.rt, this.rootCollector, o));
      const view = await createListView(this.rt, this.viewManager, initial, o);
      await createFilter(this.rt, pc.ref, {
        propSet: [{ type: 'Task', pathSet: ['info'] }],
        objectSet: [{ obj: view, skip: true, selectSet: [viewTraversal('ListView')] }],
      }, false, o);
      return { generation, pc, view, version: '' };
    })();
    this.#watch.catch(() => {
      this.#watch = undefined;
    });
    return this.#watch;
  }

  #ensureLoop(): void {
    if (this.#loop !== undefined || this.#pending.size === 0 || this.#watch === undefined) return;
    this.#loop = this.#run().finally(() => {
      this.#loop = undefined;
      if (this.#pending.size > 0 && !this.#stop.signal.aborted) this.#ensureLoop();
    });
  }

  async #run(): Promise<void> {
    while (this.#pending.size > 0 && !this.#stop.signal.aborted) {
      let watch: Watch;
      const watchP = this.#watch ?? this.#rebuild([...this.#pending.values()].map((w) => w.ref));
      try {
        watch = await watchP;
      } catch (err) {
        this.#failAll(err);
        return;
      }
      let updates: UpdateSet | undefined;
      try {
        updates = await watch.pc.waitForUpdates(watch.version, { maxWaitSeconds: 60, signal: this.#stop.signal });
      } catch (err) {
        if (this.#stop.signal.aborted) return;
        if (watch.generation !== this.generation() || isFault(err, 'ManagedObjectNotFound') || isFault(err, 'InvalidCollectorVersion')) {
          // The session was replaced: its collector and view are gone. Rebuild with every task still awaited.
          this.log.info({ pending: this.#pending.size }, 'rebuilding the task watch after a new session');
          if (this.#watch === watchP) this.#watch = undefined;
          continue;
        }
        this.#failAll(err);
        return;
      }
      if (updates === undefined) continue;
      watch.version = updates.version;
      for (const fs of updates.filterSet ?? []) for (const u of fs.objectSet ?? []) this.#apply(u);
    }
  }

  #apply(update: ObjectUpdate): void {
    const key = morefKey(update.obj);
    const waiter = this.#pending.get(key);
    if (waiter === undefined) return;
    const change = update.changeSet?.find((c) => c.name === 'info');
    const info = change?.val as TaskInfo | undefined;
    if (info === undefined) return;
    if (info.progress !== undefined && info.progress !== waiter.lastProgress) {
      waiter.lastProgress = info.progress;
      waiter.onProgress?.(info.progress, info);
    }
    if (info.state !== 'success' && info.state !== 'error') return;
    this.#pending.delete(key);
    this.#toRemove.set(key, update.obj);
    if (info.state === 'success') {
      waiter.onProgress?.(100, info);
      waiter.resolve(info);
    } else {
      const fault = info.error?.fault ?? { _type: 'SystemError' };
      const target = info.entity === undefined ? undefined : morefKey(info.entity);
      waiter.reject(createVimFault(fault, info.error?.localizedMessage ?? '', { method: info.name ?? info.descriptionId, ...(target === undefined ? {} : { target }) }));
    }
  }

  #failAll(err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    for (const w of this.#pending.values()) w.reject(error);
    this.#pending.clear();
  }

  /** Stops waiting (pending waits fail) and drops the private collector. */
  async close(): Promise<void> {
    this.#stop.abort();
    this.#failAll(new PolyvisorError('vsphere_closed', 'the vSphere client was closed while waiting for a task'));
    const watch = await this.#watch?.catch(() => undefined);
    if (watch !== undefined && watch.generation === this.generation()) {
      await destroyPropertyCollector(this.rt, watch.pc.ref, { timeoutMs: 5_000 }).catch(() => undefined);
    }
  }
}
