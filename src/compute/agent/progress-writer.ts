import { updateInstance } from '../../db/repos/instances.js';
import { TaskState } from '../states.js';
import type { AgentContext } from './context.js';

/** At most one progress write per instance per this many ms: a transfer calls back per MiB. */
export const PROGRESS_WRITE_INTERVAL_MS = 400;

/**
 * Writes a spawning instance's `progress` (what `openstack server show` shows while the
 * image moves) from the driver's onProgress callbacks, throttled: the latest value is
 * written at most every PROGRESS_WRITE_INTERVAL_MS, never two writes at once, and only
 * while the instance is still spawning on this host (a delete meanwhile wins). A failed
 * write is logged and forgotten: progress is cosmetic, the build must not fail for it.
 */
export class ProgressWriter {
  readonly #ctx: AgentContext;
  readonly #uuid: string;
  #latest = 0;
  #written = 0;
  #lastWriteAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #inflight: Promise<void> | undefined;
  #closed = false;

  constructor(ctx: AgentContext, uuid: string) {
    this.#ctx = ctx;
    this.#uuid = uuid;
  }

  /** True once the driver reported any progress. */
  get reported(): boolean {
    return this.#latest > 0;
  }

  /** The driver's callback: percent 0–100, kept monotonic. */
  readonly report = (percent: number): void => {
    if (this.#closed || !Number.isFinite(percent)) return;
    const p = Math.max(0, Math.min(100, Math.floor(percent)));
    if (p <= this.#latest) return;
    this.#latest = p;
    this.#schedule();
  };

  #schedule(): void {
    if (this.#closed || this.#timer !== undefined || this.#inflight !== undefined) return;
    const wait = this.#lastWriteAt + PROGRESS_WRITE_INTERVAL_MS - Date.now();
    if (wait <= 0) this.#write();
    else this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#write();
    }, wait);
  }

  #write(): void {
    if (this.#closed || this.#latest === this.#written) return;
    const value = this.#latest;
    this.#lastWriteAt = Date.now();
    this.#inflight = updateInstance(this.#ctx.db, this.#uuid, { taskState: TaskState.SPAWNING, host: this.#ctx.host }, { progress: value })
      .then(() => {
        this.#written = value;
      })
      .catch((err: unknown) => this.#ctx.logger.warn({ err, instance: this.#uuid }, 'could not record build progress'))
      .finally(() => {
        this.#inflight = undefined;
        if (this.#latest !== this.#written) this.#schedule();
      });
  }

  /** Stops writing; resolves when no write is in flight (so none lands after the build's final update). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#inflight;
  }
}
