import { EventEmitter } from 'node:events';

/**
 * Notifications between the parts of Polyvisor. The database is the source of truth;
 * a notification only says "look again". In-process with SQLite, LISTEN/NOTIFY with
 * PostgreSQL, so a lost notification costs latency (the periodic scan catches up), never state.
 */
export interface Bus {
  /** Announce a change on a channel; delivered after the caller's transaction has committed. */
  notify(channel: BusChannel, payload: string): Promise<void>;
  /** Subscribe; returns the function that unsubscribes. */
  subscribe(channel: BusChannel, handler: (payload: string) => void): () => void;
  close(): Promise<void>;
}

/**
 * - `instances`: payload is the owning host (or '' for unscheduled work): agents wake up.
 * - `scheduler`: payload is an instance uuid that needs a placement.
 * - `nodes`: payload is a compute node name whose resources changed.
 * - `console_output`: payload `<host> <uuid>` asks that host's agent to read the instance's
 *   console log into instance_console_output; `done <uuid>` says it did.
 */
export type BusChannel = 'instances' | 'scheduler' | 'nodes' | 'console_output';

export class LocalBus implements Bus {
  readonly #events = new EventEmitter();

  constructor() {
    this.#events.setMaxListeners(0);
  }

  async notify(channel: BusChannel, payload: string): Promise<void> {
    // Deliver on a later tick: a handler never runs inside the notifier's stack.
    queueMicrotask(() => this.#events.emit(channel, payload));
  }

  subscribe(channel: BusChannel, handler: (payload: string) => void): () => void {
    this.#events.on(channel, handler);
    return () => this.#events.off(channel, handler);
  }

  async close(): Promise<void> {
    this.#events.removeAllListeners();
  }
}
