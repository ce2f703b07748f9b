import type { Db } from '../../db/database.js';
import type { Bus } from '../../db/bus.js';
import { addInstanceFault, finishActionEvent, latestInstanceAction, latestInstanceFault, startActionEvent, updateInstance } from '../../db/repos/instances.js';
import { isoAfter, now } from '../../db/time.js';
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../log.js';
import { TaskState, VmState } from '../states.js';
import { claimPlacement } from './claim.js';
import type { HostCache } from './host-cache.js';
import { noValidHostMessage, type HostSelector } from './host-selector.js';
import { buildRequestSpec, InvalidRequestSpecError, type RequestSpec } from './request-spec.js';

/** A scheduling lease lasts this long; a crashed scheduler's instances are taken over after it. */
export const LEASE_MS = 30_000;
const BATCH = 32;
/** Claim rounds per instance before giving up for now (each lost race refreshes the node). */
const MAX_ROUNDS = 50;
/** Service liveness is re-read at most this often. */
const SERVICES_MAX_AGE_MS = 2_000;

export interface WorkerOptions {
  readonly db: Db;
  readonly bus: Bus;
  readonly logger: Logger;
  readonly identity: string;
  readonly cache: HostCache;
  readonly selector: HostSelector;
  readonly maxAttempts: number;
  readonly hostSubsetSize: number;
  readonly defaultScheduleZone: string | null;
  readonly defaultAvailabilityZone: string;
  readonly schedulerHost: string;
}

interface LeasedInstance {
  uuid: string;
  version: number;
  flavor: string;
  requested_availability_zone: string | null;
  retry_nodes: string;
  image_properties: string | null;
}

/**
 * Takes instances waiting in task_state 'scheduling' under a lease, places them one after
 * another (so the host cache stays exact within this process) and wakes the agents.
 * `pump` is single-flight: wake-ups during a run make it loop once more.
 */
export class SchedulerWorker {
  readonly #o: WorkerOptions;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  /** Placements done since start (for logs and benchmarks). */
  placed = 0;
  failed = 0;

  constructor(options: WorkerOptions) {
    this.#o = options;
  }

  /** Runs the work loop unless it is running (then it runs once more); resolves when idle. */
  wake(): Promise<void> {
    this.#again = true;
    this.#running ??= this.#loop().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#running;
  }

  async #loop(): Promise<void> {
    while (this.#again && !this.#stopped) {
      this.#again = false;
      try {
        while (!this.#stopped && (await this.#batch()) > 0) this.#again = false;
      } catch (err) {
        // A database hiccup: the periodic scan retries; the leases we hold are ours again then.
        this.#o.logger.error({ err: errorMessage(err) }, 'scheduler batch failed');
        return;
      }
    }
  }

  /** Leases and places one batch; returns how many instances it leased. */
  async #batch(): Promise<number> {
    const { cache } = this.#o;
    await cache.refreshServices(SERVICES_MAX_AGE_MS);
    const rows = await this.#lease();
    if (rows.length === 0) return 0;
    const hosts = new Set<string>();
    for (const row of rows) {
      if (this.#stopped) break;
      const host = await this.#place(row);
      if (host !== undefined) hosts.add(host);
    }
    for (const h of hosts) await this.#o.bus.notify('instances', h);
    return rows.length;
  }

  async #lease(): Promise<LeasedInstance[]> {
    const { db, identity } = this.#o;
    const t = now();
    const leased = await db
      .updateTable('instances')
      .set({ lease_owner: identity, lease_expires_at: isoAfter(LEASE_MS) })
      .where('uuid', 'in', (eb) =>
        eb
          .selectFrom('instances')
          .select('uuid')
          .where('deleted', '=', 0)
          .where('task_state', '=', TaskState.SCHEDULING)
          .where((e) => e.or([e('lease_owner', 'is', null), e('lease_owner', '=', identity), e('lease_expires_at', '<', t)]))
          .orderBy('created_at')
          .limit(BATCH),
      )
      // Re-checked on the row itself: with PostgreSQL a concurrent scheduler that leased the
      // row first makes this UPDATE skip it.
      .where('deleted', '=', 0)
      .where('task_state', '=', TaskState.SCHEDULING)
      .where((e) => e.or([e('lease_owner', 'is', null), e('lease_owner', '=', identity), e('lease_expires_at', '<', t)]))
      .returning('uuid')
      .execute();
    if (leased.length === 0) return [];
    return db
      .selectFrom('instances')
      .leftJoin('images', 'images.id', 'instances.image_ref')
      .select([
        'instances.uuid',
        'instances.version',
        'instances.flavor',
        'instances.requested_availability_zone',
        'instances.retry_nodes',
        'images.properties as image_properties',
      ])
      .where('instances.uuid', 'in', leased.map((r) => r.uuid))
      .orderBy('instances.created_at')
      .orderBy('instances.launch_index')
      .execute();
  }

  /** Places one instance; returns the host to wake, or undefined. */
  async #place(row: LeasedInstance): Promise<string | undefined> {
    const { cache, selector, maxAttempts } = this.#o;
    let spec: RequestSpec;
    try {
      spec = buildRequestSpec(row, this.#o.defaultScheduleZone);
    } catch (err) {
      if (!(err instanceof InvalidRequestSpecError)) throw err;
      await this.#fail(row, `Build of instance ${row.uuid} aborted: ${err.message}.`, '');
      return undefined;
    }
    if (spec.retryNodes.size >= maxAttempts) {
      const last = await latestInstanceFault(this.#o.db, row.uuid);
      await this.#fail(
        row,
        `No valid host was found. Exceeded max scheduling attempts ${maxAttempts} for instance ${row.uuid}.`,
        `Nodes tried: ${[...spec.retryNodes].join(', ')}.${last ? ` Last exception: ${last.message}` : ''}`,
      );
      return undefined;
    }
    const request = { vcpus: spec.vcpus, memoryMb: spec.memoryMb, diskGb: spec.diskGb };
    const k = Math.max(this.#o.hostSubsetSize, 3);
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const ranked = selector.select(cache.hosts, spec, k);
      if (ranked.length === 0) {
        const results = selector.explain(cache.hosts, spec);
        await this.#fail(row, noValidHostMessage(results), `Filter results: ${results.map((r) => `${r.name} (start: ${r.start}, end: ${r.end})`).join(', ')}`);
        return undefined;
      }
      for (const h of pickOrder(ranked, this.#o.hostSubsetSize)) {
        const zone = h.availabilityZone ?? this.#o.defaultAvailabilityZone;
        const outcome = await claimPlacement(this.#o.db, row, h, request, zone);
        if (outcome === 'placed') {
          cache.consume(h, request);
          this.placed++;
          return h.host;
        }
        if (outcome === 'gone') return undefined;
        // Lost a race for the node (another scheduler, a stale cache): look again and go on.
        await cache.refreshNode({ id: h.id });
      }
    }
    throw new Error(`instance ${row.uuid}: no claim succeeded after ${MAX_ROUNDS} rounds`);
  }

  /** ERROR with a fault, in one transaction; the create action gets the scheduler's failed event. */
  async #fail(row: LeasedInstance, message: string, details: string): Promise<void> {
    const { db } = this.#o;
    const done = await db.transaction().execute(async (trx) => {
      const updated = await updateInstance(
        trx,
        row.uuid,
        { taskState: TaskState.SCHEDULING, host: null, version: row.version },
        { vm_state: VmState.ERROR, task_state: null, lease_owner: null, lease_expires_at: null },
      );
      if (updated) await addInstanceFault(trx, { instanceUuid: row.uuid, code: 500, message, details, host: null });
      return updated !== undefined;
    });
    if (!done) return;
    this.failed++;
    this.#o.logger.info({ instance: row.uuid }, message);
    const action = await latestInstanceAction(db, row.uuid, 'create');
    if (action) {
      const ev = await startActionEvent(db, action.id, 'conductor_schedule_and_build_instances', this.#o.schedulerHost);
      await finishActionEvent(db, ev, 'Error', message);
    }
  }
}

/** host_subset_size: a random one of the best `size` first (fewer races between schedulers), then the rest. */
function pickOrder<T>(ranked: readonly T[], size: number): readonly T[] {
  if (size <= 1 || ranked.length <= 1) return ranked;
  const i = Math.floor(Math.random() * Math.min(size, ranked.length));
  return [ranked[i] as T, ...ranked.filter((_, j) => j !== i)];
}
