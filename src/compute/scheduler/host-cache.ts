import type { Db } from '../../db/database.js';
import { getSchedulerNode, listSchedulerNodes, type SchedulerNodeRow } from '../../db/repos/compute-nodes.js';
import type { ResourceRequest } from '../../db/repos/compute-nodes.js';
import { HostState, serviceStateOf, type ServiceState } from './host-state.js';

/**
 * The scheduler's in-memory view of every compute node. A full reload every
 * `[scheduler] periodic_task_interval`; between reloads the scheduler keeps it current
 * itself: a successful claim is applied locally, a lost claim race or a 'nodes'
 * notification re-reads that one node, and service liveness (a tiny table) is re-read every
 * few seconds. The database stays the judge: a stale cache costs a failed guarded
 * update and a refresh, never an oversubscribed node.
 */
export class HostCache {
  readonly #db: Db;
  readonly #serviceDownTime: number;
  #hosts: HostState[] = [];
  readonly #byName = new Map<string, HostState>();
  readonly #services = new Map<number, ServiceState>();
  #servicesAt = 0;
  #generation = 0;
  readonly #listeners: ((h: HostState) => void)[] = [];

  constructor(db: Db, serviceDownTimeSeconds: number) {
    this.#db = db;
    this.#serviceDownTime = serviceDownTimeSeconds;
  }

  get hosts(): readonly HostState[] {
    return this.#hosts;
  }

  /** Changes whenever hosts are added or removed (a reload counts as both). */
  get generation(): number {
    return this.#generation;
  }

  /** Called whenever one host's usage or facts change in place. */
  onHostChange(listener: (h: HostState) => void): void {
    this.#listeners.push(listener);
  }

  get(nodename: string): HostState | undefined {
    return this.#byName.get(nodename);
  }

  async reload(): Promise<void> {
    const rows = await listSchedulerNodes(this.#db);
    const nowMs = Date.now();
    const hosts: HostState[] = [];
    const seen = new Set<string>();
    for (const row of rows) {
      const h = this.#byName.get(row.hypervisor_hostname) ?? new HostState();
      h.update(row, this.#serviceFor(row, nowMs));
      hosts.push(h);
      seen.add(row.hypervisor_hostname);
    }
    for (const name of [...this.#byName.keys()]) if (!seen.has(name)) this.#byName.delete(name);
    for (const h of hosts) this.#byName.set(h.nodename, h);
    this.#hosts = hosts;
    this.#generation++;
    this.#servicesAt = nowMs;
  }

  /** Re-reads one node (after a lost claim race or a 'nodes' notification); `db` may be the caller's transaction. */
  async refreshNode(by: { id: number } | { nodename: string }, db: Db = this.#db): Promise<void> {
    const row = await getSchedulerNode(db, by);
    const known = 'id' in by ? this.#hosts.find((h) => h.id === by.id) : this.#byName.get(by.nodename);
    if (!row) {
      if (known) {
        this.#byName.delete(known.nodename);
        this.#hosts = this.#hosts.filter((h) => h !== known);
        this.#generation++;
      }
      return;
    }
    const h = known ?? new HostState();
    h.update(row, this.#serviceFor(row, Date.now()));
    if (!known) {
      this.#hosts.push(h);
      this.#byName.set(h.nodename, h);
      this.#generation++;
    } else this.#changed(h);
  }

  /** Re-reads service liveness when the last read is older than `maxAgeMs`. */
  async refreshServices(maxAgeMs: number): Promise<void> {
    const nowMs = Date.now();
    if (nowMs - this.#servicesAt < maxAgeMs) return;
    this.#servicesAt = nowMs;
    const rows = await this.#db
      .selectFrom('services')
      .select(['id', 'disabled', 'forced_down', 'last_seen_at'])
      .where('binary', '=', 'nova-compute')
      .execute();
    for (const r of rows) {
      const fresh = serviceStateOf(r, this.#serviceDownTime, nowMs);
      const s = this.#services.get(r.id);
      if (s) {
        s.disabled = fresh.disabled;
        s.up = fresh.up;
      } else this.#services.set(r.id, fresh);
    }
  }

  /** Applies a successful claim locally, so the next selection sees it without a read. */
  consume(h: HostState, r: ResourceRequest): void {
    h.vcpusUsed += r.vcpus;
    h.memoryMbUsed += r.memoryMb;
    h.localGbUsed += r.diskGb;
    this.#changed(h);
  }

  #changed(h: HostState): void {
    for (const l of this.#listeners) l(h);
  }

  #serviceFor(row: SchedulerNodeRow, nowMs: number): ServiceState {
    const fresh = serviceStateOf(
      { disabled: row.service_disabled, forced_down: row.service_forced_down, last_seen_at: row.service_last_seen_at },
      this.#serviceDownTime,
      nowMs,
    );
    const s = this.#services.get(row.service_id);
    if (!s) {
      this.#services.set(row.service_id, fresh);
      return fresh;
    }
    s.disabled = fresh.disabled;
    s.up = fresh.up;
    return s;
  }
}
