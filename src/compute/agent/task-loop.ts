import { errorMessage } from '../../errors.js';
import type { AgentContext } from './context.js';
import { AGENT_TASKS, runTask, sideWork } from './tasks/dispatch.js';

/**
 * The agent's work queue is the database: instances on this host whose task_state asks
 * for work. A scan (on an 'instances' notification for this host, after every finished
 * operation, and periodically) starts what is not running yet, at most `concurrency`
 * operations at once and one at a time per instance, so a delete that arrives during a
 * build runs right after it, against the row as it is then.
 */
export class TaskLoop {
  readonly #ctx: AgentContext;
  readonly #concurrency: number;
  readonly #inFlight = new Map<string, Promise<void>>();
  #scan: Promise<void> | undefined;
  #again = false;
  #stopped = false;

  constructor(ctx: AgentContext, concurrency: number) {
    this.#ctx = ctx;
    this.#concurrency = concurrency;
  }

  get busy(): number {
    return this.#inFlight.size;
  }

  /** Scans now (or once more after the running scan). */
  wake(): void {
    if (this.#stopped) return;
    this.#again = true;
    this.#scan ??= this.#scanLoop().finally(() => {
      this.#scan = undefined;
    });
  }

  /** Stops taking work and waits for running operations (which the context's signal aborts). */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#scan;
    await Promise.allSettled([...this.#inFlight.values()]);
  }

  async #scanLoop(): Promise<void> {
    while (this.#again && !this.#stopped) {
      this.#again = false;
      try {
        await this.#scanOnce();
      } catch (err) {
        this.#ctx.logger.error({ err: errorMessage(err) }, 'task scan failed');
        return;
      }
    }
  }

  async #scanOnce(): Promise<void> {
    const free = this.#concurrency - this.#inFlight.size;
    if (free <= 0) return;
    const rows = await this.#ctx.db
      .selectFrom('instances')
      .selectAll()
      .where('host', '=', this.#ctx.host)
      .where('deleted', '=', 0)
      .where('task_state', 'in', [...AGENT_TASKS])
      .orderBy('updated_at')
      .limit(free + this.#inFlight.size)
      .execute();
    for (const row of rows) {
      if (this.#stopped || this.#inFlight.size >= this.#concurrency) break;
      if (!this.#inFlight.has(row.uuid)) this.#start(row.uuid, row.task_state, () => runTask(this.#ctx, row));
    }
    // Work without a task_state (a resize confirm at the source, diagnostics): keyed by instance too.
    for (const w of await sideWork(this.#ctx)) {
      if (this.#stopped || this.#inFlight.size >= this.#concurrency) break;
      if (!this.#inFlight.has(w.instanceUuid)) this.#start(w.instanceUuid, w.what, w.run);
    }
  }

  #start(uuid: string, task: string | null, run: () => Promise<void>): void {
    const op = run()
      .catch((err: unknown) => {
        if (this.#ctx.signal.aborted) return;
        this.#ctx.logger.error({ instance: uuid, task, err: errorMessage(err) }, 'instance operation failed');
      })
      .finally(() => {
        this.#inFlight.delete(uuid);
        // The row may carry a new task now (a delete during a build), or work may be queued.
        this.wake();
      });
    this.#inFlight.set(uuid, op);
  }
}
