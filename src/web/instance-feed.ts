import type { Bus } from '../db/bus.js';
import type { Db } from '../db/database.js';
import { serverStatus } from '../compute/states.js';
import type { Logger } from '../log.js';

/** What the dashboard is told about a changed instance: enough to redraw its row at once. */
export interface InstanceChange {
  readonly id: string;
  readonly project_id: string;
  readonly name: string;
  readonly status: string;
  readonly vm_state: string;
  readonly task_state: string | null;
  readonly power_state: number;
  readonly host: string | null;
  readonly deleted: boolean;
  readonly updated: string;
}

export type ChangeListener = (changes: readonly InstanceChange[]) => void;

export interface InstanceFeedOptions {
  /** How often the feed looks at the database while someone listens. */
  readonly intervalMs?: number;
}

/**
 * The live instance feed behind the dashboard's event stream, one per API process.
 *
 * Instance rows change in many places and processes (the API, the scheduler, compute
 * agents in other processes against PostgreSQL), and every change goes through a guarded
 * UPDATE that stamps `updated_at` and bumps `version`. So the feed needs no cooperation
 * from the writers: while anyone listens it asks, about once a second and at once when the
 * Bus says instances or nodes moved, for the rows with `updated_at` at or after its cursor
 * (index instances_updated_at, migration 0011-dashboard), and announces each row whose
 * version it has not announced yet. The cursor trails the newest change by OVERLAP_MS, so
 * a writer whose commit lands after a later-stamped one, or whose clock is a little behind,
 * is still seen; the versions already announced keep such re-reads from repeating.
 */
const OVERLAP_MS = 5_000;
const PAGE = 500;

export class InstanceFeed {
  readonly #db: Db;
  readonly #log: Logger;
  readonly #intervalMs: number;
  readonly #listeners = new Set<ChangeListener>();
  readonly #announced = new Map<string, { version: number; updatedAt: string }>();
  readonly #unsubscribeBus: (() => void)[] = [];
  #cursor = new Date(Date.now() - OVERLAP_MS).toISOString();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #closed = false;

  constructor(db: Db, bus: Bus, logger: Logger, options: InstanceFeedOptions = {}) {
    this.#db = db;
    this.#log = logger;
    this.#intervalMs = options.intervalMs ?? 1000;
    for (const channel of ['instances', 'scheduler', 'nodes'] as const) {
      this.#unsubscribeBus.push(bus.subscribe(channel, () => this.poke()));
    }
  }

  /** Listens for changes from now on; returns the function that stops listening. */
  subscribe(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    if (this.#timer === undefined && !this.#closed) {
      // Changes made while nobody listened are nobody's news: start from now.
      if (this.#listeners.size === 1) this.#cursor = new Date(Date.now() - OVERLAP_MS).toISOString();
      this.#timer = setInterval(() => this.poke(), this.#intervalMs);
      this.#timer.unref();
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0 && this.#timer !== undefined) {
        clearInterval(this.#timer);
        this.#timer = undefined;
      }
    };
  }

  /** Looks at the database soon (coalesced: one query at a time, one more if poked meanwhile). */
  poke(): void {
    if (this.#closed || this.#listeners.size === 0) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#scan()
      .catch((err: unknown) => this.#log.warn({ err }, 'instance feed: scan failed (next tick retries)'))
      .finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.poke();
        }
      });
  }

  /** Runs one scan now and resolves when it is done (tests and start-up use it). */
  async scanNow(): Promise<void> {
    await this.#running;
    await this.#scan();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    for (const u of this.#unsubscribeBus) u();
    this.#listeners.clear();
    await this.#running;
  }

  async #scan(): Promise<void> {
    const since = this.#cursor;
    const changes: InstanceChange[] = [];
    let newest = since;
    let offset = 0;
    for (;;) {
      const rows = await this.#db
        .selectFrom('instances')
        .select(['uuid', 'project_id', 'display_name', 'vm_state', 'task_state', 'power_state', 'host', 'deleted', 'version', 'updated_at'])
        .where('updated_at', '>=', since)
        .orderBy('updated_at')
        .orderBy('uuid')
        .limit(PAGE)
        .offset(offset)
        .execute();
      for (const r of rows) {
        if (r.updated_at > newest) newest = r.updated_at;
        const seen = this.#announced.get(r.uuid);
        if (seen !== undefined && seen.version >= r.version) continue;
        this.#announced.set(r.uuid, { version: r.version, updatedAt: r.updated_at });
        changes.push({
          id: r.uuid,
          project_id: r.project_id,
          name: r.display_name,
          status: r.deleted !== 0 ? 'DELETED' : serverStatus(r.vm_state, r.task_state),
          vm_state: r.vm_state,
          task_state: r.task_state,
          power_state: r.power_state,
          host: r.host,
          deleted: r.deleted !== 0,
          updated: r.updated_at,
        });
      }
      if (rows.length < PAGE) break;
      offset += PAGE;
    }
    const cursor = new Date(Date.parse(newest) - OVERLAP_MS).toISOString();
    if (cursor > this.#cursor) this.#cursor = cursor;
    // Forget versions older than the window: those rows are no longer read back.
    for (const [uuid, a] of this.#announced) if (a.updatedAt < this.#cursor) this.#announced.delete(uuid);
    if (changes.length === 0) return;
    for (const l of this.#listeners) {
      try {
        l(changes);
      } catch (err) {
        this.#log.warn({ err }, 'instance feed: a listener failed');
      }
    }
  }
}
