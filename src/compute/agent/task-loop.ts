import { errorMessage } from '../../errors.js';
import type { AgentContext } from './context.js';
import { AGENT_TASKS, runTask, sideWork } from './tasks/dispatch.js';
import { RetryLater } from './tasks/failure.js';

/** Backoff of a task that asked to be retried (RetryLater): 1 s, 2 s, 4 s, ... at most 15 s. */
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 15_000;

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
  /** Instances whose task asked to be retried: not before `at`; `attempts` so far. */
  readonly #retry = new Map<string, { at: number; attempts: number; timer: NodeJS.Timeout }>();
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
    for (const r of this.#retry.values()) clearTimeout(r.timer);
    this.#retry.clear();
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
      const retry = this.#retry.get(row.uuid);
      if (retry !== undefined && retry.at > Date.now()) continue;
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
      .then(() => this.#forgetRetry(uuid))
      .catch((err: unknown) => {
        if (this.#ctx.signal.aborted) return;
        if (err instanceof RetryLater) {
          this.#retryLater(uuid, task, err);
          return;
        }
        this.#forgetRetry(uuid);
        this.#ctx.logger.error({ instance: uuid, task, err: errorMessage(err) }, 'instance operation failed');
      })
      .finally(() => {
        this.#inFlight.delete(uuid);
        // The row may carry a new task now (a delete during a build), or work may be queued.
        this.wake();
      });
    this.#inFlight.set(uuid, op);
  }

  #retryLater(uuid: string, task: string | null, err: RetryLater): void {
    const attempts = (this.#retry.get(uuid)?.attempts ?? 0) + 1;
    const delay = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** (attempts - 1));
    this.#forgetRetry(uuid);
    // The wake-up when the delay is over; notifications and scans meanwhile skip the instance.
    const timer = setTimeout(() => this.wake(), delay);
    timer.unref();
    this.#retry.set(uuid, { at: Date.now() + delay, attempts, timer });
    this.#ctx.logger.warn({ instance: uuid, task, attempts, retryInMs: delay, reason: err.message }, 'hypervisor unreachable; the task will be retried');
  }

  #forgetRetry(uuid: string): void {
    const r = this.#retry.get(uuid);
    if (r === undefined) return;
    clearTimeout(r.timer);
    this.#retry.delete(uuid);
  }
}
