import { SqliteAdapter, sql, type ExpressionBuilder } from 'kysely';
import type { Db } from '../../db/database.js';
import type { Database } from '../../db/schema.js';
import type { Bus } from '../../db/bus.js';
import { addInstanceFault, finishActionEvent, latestInstanceAction, latestInstanceFault, startActionEvent, updateInstance } from '../../db/repos/instances.js';
import { isoAfter, now } from '../../db/time.js';
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../log.js';
import { TaskState, VmState } from '../states.js';
import { claimInTransaction } from './claim.js';
import type { HostCache } from './host-cache.js';
import { noValidHostMessage, type HostSelector } from './host-selector.js';
import { hostHintPlacement } from './placement-facts.js';
import { buildRequestSpec, InvalidRequestSpecError, type RequestSpec } from './request-spec.js';
import { groupPlacementOf } from '../../db/repos/server-groups.js';
import { isSoftPolicy, softGroupOrder } from './weighers/server-group-weigher.js';

/** A scheduling lease lasts this long; a crashed scheduler's instances are taken over after it. */
export const LEASE_MS = 30_000;
const BATCH = 64;
/** Claim rounds per instance before giving up for now (each lost race refreshes the node). */
const MAX_ROUNDS = 50;
/** SQLite group commit: placements that start within this many ms share one commit. */
const GROUP_MS = 1;
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
  /** [filter_scheduler] soft_(anti_)affinity_weight_multiplier. */
  readonly softGroupWeights?: { readonly softAffinity: number; readonly softAntiAffinity: number };
  /** Called after each instance with how long its placement took (filters, weighers, claim). */
  readonly onPlacement?: (ms: number, outcome: 'placed' | 'failed' | 'gone') => void;
}

type PlaceOutcome = { host: string } | 'failed' | 'gone';

/** Task states of instances waiting for a host: a build, and the unshelve of an offloaded server. */
const SCHEDULABLE_TASKS: string[] = [TaskState.SCHEDULING, TaskState.UNSHELVING];

interface LeasedInstance {
  uuid: string;
  version: number;
  task_state: string | null;
  flavor: string;
  requested_availability_zone: string | null;
  retry_nodes: string;
  image_properties: string | null;
  group_uuid: string | null;
  requested_host: string | null;
  requested_node: string | null;
  scheduler_hints: string | null;
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
  readonly #groupCommit: boolean;
  /** Placements done since start (for logs and benchmarks). */
  placed = 0;
  failed = 0;

  constructor(options: WorkerOptions) {
    this.#o = options;
    // SQLite has one writer: a group transaction cannot deadlock, and its commit is shared.
    this.#groupCommit = options.db.getExecutor().adapter instanceof SqliteAdapter;
    options.cache.onHostChange((h) => options.selector.changed(h));
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

  /**
   * Leases and places one batch; returns how many instances it leased. With SQLite the
   * placements of up to GROUP_MS share one transaction (group commit: the commit, not the
   * filtering, is what costs); with PostgreSQL each placement commits alone so that row
   * locks on nodes are held briefly and never in an order that could deadlock.
   */
  async #batch(): Promise<number> {
    const { cache, db } = this.#o;
    await cache.refreshServices(SERVICES_MAX_AGE_MS);
    const rows = await this.#lease();
    if (rows.length === 0) return 0;
    const hosts = new Set<string>();
    let next = 0;
    while (next < rows.length && !this.#stopped) {
      const groupStart = performance.now();
      const done: { started: number; outcome: PlaceOutcome }[] = [];
      try {
        await db.transaction().execute(async (trx) => {
          do {
            const row = rows[next++] as LeasedInstance;
            const started = performance.now();
            done.push({ started, outcome: await this.#place(trx, row) });
          } while (this.#groupCommit && next < rows.length && !this.#stopped && performance.now() - groupStart < GROUP_MS);
        });
      } catch (err) {
        // Rolled back: claims applied to the cache did not happen; re-read it whole.
        await cache.reload();
        throw err;
      }
      const committed = performance.now();
      for (const d of done) {
        if (typeof d.outcome === 'object') {
          hosts.add(d.outcome.host);
          this.placed++;
        } else if (d.outcome === 'failed') this.failed++;
        this.#o.onPlacement?.(committed - d.started, typeof d.outcome === 'object' ? 'placed' : d.outcome);
      }
    }
    for (const h of hosts) await this.#o.bus.notify('instances', h);
    return rows.length;
  }

  async #lease(): Promise<LeasedInstance[]> {
    const { db, identity } = this.#o;
    const t = now();
    const leasable = (e: ExpressionBuilder<Database, 'instances'>) =>
      e.or([e('lease_owner', 'is', null), e('lease_owner', '=', identity), e('lease_expires_at', '<', t)]);
    // `deleted + 0` keeps SQLite's planner off the (deleted, created_at) index, which would
    // walk every placed instance: (task_state, created_at) finds the oldest waiting ones directly.
    // One query per task state, each an equality on the index (an IN list would sort every
    // waiting row): builds, and offloaded servers being unshelved (task 'unshelving', no host).
    const waiting = (task: string) =>
      db
        .selectFrom('instances')
        .select(['uuid', 'created_at'])
        .where('task_state', '=', task)
        .where('host', 'is', null)
        .where(sql<number>`${sql.ref('deleted')} + 0`, '=', 0)
        .where(leasable)
        .orderBy('created_at')
        .limit(BATCH)
        .execute();
    const candidates = (await Promise.all(SCHEDULABLE_TASKS.map(waiting)))
      .flat()
      .sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0))
      .slice(0, BATCH);
    if (candidates.length === 0) return [];
    const leased = await db
      .updateTable('instances')
      .set({ lease_owner: identity, lease_expires_at: isoAfter(LEASE_MS) })
      .where(
        'uuid',
        'in',
        candidates.map((c) => c.uuid),
      )
      // Re-checked on each row (with PostgreSQL, after waiting for a concurrent scheduler that
      // leased it first, so only one wins). The expressions keep SQLite on the primary key.
      .where(sql<string>`coalesce(${sql.ref('task_state')}, '')`, 'in', SCHEDULABLE_TASKS)
      .where('host', 'is', null)
      .where(sql<number>`${sql.ref('deleted')} + 0`, '=', 0)
      .where(leasable)
      .returning('uuid')
      .execute();
    if (leased.length === 0) return [];
    return db
      .selectFrom('instances')
      .leftJoin('images', 'images.id', 'instances.image_ref')
      .select([
        'instances.uuid',
        'instances.version',
        'instances.task_state',
        'instances.flavor',
        'instances.requested_availability_zone',
        'instances.retry_nodes',
        'instances.requested_host',
        'instances.requested_node',
        'instances.scheduler_hints',
        'images.properties as image_properties',
        (eb) =>
          eb
            .selectFrom('instance_group_members')
            .select('group_uuid')
            .whereRef('instance_group_members.instance_uuid', '=', 'instances.uuid')
            .limit(1)
            .as('group_uuid'),
      ])
      .where('instances.uuid', 'in', leased.map((r) => r.uuid))
      .orderBy('instances.created_at')
      .orderBy('instances.launch_index')
      .execute();
  }

  /** Places one instance inside `trx`; returns where, or why not. */
  async #place(trx: Db, row: LeasedInstance): Promise<PlaceOutcome> {
    const { cache, selector, maxAttempts } = this.#o;
    let spec: RequestSpec;
    try {
      spec = buildRequestSpec(row, this.#o.defaultScheduleZone);
    } catch (err) {
      if (!(err instanceof InvalidRequestSpecError)) throw err;
      return this.#fail(trx, row, `Build of instance ${row.uuid} aborted: ${err.message}.`, '');
    }
    if (row.group_uuid !== null) {
      // Read inside this transaction: members placed earlier in the same batch count.
      const group = await groupPlacementOf(trx, row.uuid);
      if (group) spec = { ...spec, group };
    }
    if (row.scheduler_hints !== null) spec = { ...spec, ...(await hostHintPlacement(trx, row.scheduler_hints)) };
    const soft = isSoftPolicy(spec.group);
    if (spec.retryNodes.size >= maxAttempts) {
      const last = await latestInstanceFault(trx, row.uuid);
      return this.#fail(
        trx,
        row,
        `No valid host was found. Exceeded max scheduling attempts ${maxAttempts} for instance ${row.uuid}.`,
        `Nodes tried: ${[...spec.retryNodes].join(', ')}.${last ? ` Last exception: ${last.message}` : ''}`,
      );
    }
    const request = { vcpus: spec.vcpus, memoryMb: spec.memoryMb, diskGb: spec.diskGb };
    const k = Math.max(this.#o.hostSubsetSize, 3);
    for (let round = 0; round < MAX_ROUNDS; round++) {
      let ranked = selector.select(cache, spec, soft ? cache.hosts.length : k);
      if (soft && spec.group) ranked = softGroupOrder(ranked, spec.group, this.#o.softGroupWeights ?? { softAffinity: 1, softAntiAffinity: 1 }).slice(0, k);
      if (ranked.length === 0) {
        const results = selector.explain(cache.hosts, spec);
        let details = `Filter results: ${results.map((r) => `${r.name} (start: ${r.start}, end: ${r.end})`).join(', ')}`;
        let message = noValidHostMessage(results);
        if (spec.retryNodes.size > 0) {
          // Builds already failed on some nodes: the reason of the last one is what the user needs.
          const last = await latestInstanceFault(trx, row.uuid);
          if (last) {
            details += `. Nodes tried: ${[...spec.retryNodes].join(', ')}. Last exception: ${last.message}`;
            message = `${message} Last exception: ${last.message}`;
          }
        }
        return this.#fail(trx, row, message, details);
      }
      for (const h of pickOrder(ranked, this.#o.hostSubsetSize)) {
        const zone = h.availabilityZone ?? this.#o.defaultAvailabilityZone;
        const outcome = await claimInTransaction(trx, row, h, request, zone, spec.retryNodes.size > 0);
        if (outcome === 'placed') {
          cache.consume(h, request);
          return { host: h.host };
        }
        if (outcome === 'gone') return 'gone';
        // Lost a race for the node (another scheduler, a stale cache): look again and go on.
        await cache.refreshNode({ id: h.id }, trx);
      }
    }
    throw new Error(`instance ${row.uuid}: no claim succeeded after ${MAX_ROUNDS} rounds`);
  }

  /** ERROR with a fault; the create action gets the scheduler's failed event. */
  async #fail(trx: Db, row: LeasedInstance, message: string, details: string): Promise<PlaceOutcome> {
    if (row.task_state === TaskState.UNSHELVING) return this.#failUnshelve(trx, row, message, details);
    const updated = await updateInstance(
      trx,
      row.uuid,
      { taskState: TaskState.SCHEDULING, host: null, version: row.version },
      { vm_state: VmState.ERROR, task_state: null, lease_owner: null, lease_expires_at: null },
    );
    if (!updated) return 'gone';
    await addInstanceFault(trx, { instanceUuid: row.uuid, code: 500, message, details, host: null });
    const action = await latestInstanceAction(trx, row.uuid, 'create');
    if (action) {
      const ev = await startActionEvent(trx, action.id, 'conductor_schedule_and_build_instances', this.#o.schedulerHost);
      await finishActionEvent(trx, ev, 'Error', message);
    }
    this.#o.logger.info({ instance: row.uuid }, message);
    return 'failed';
  }

  /** An unshelve with no host for it: the server stays SHELVED_OFFLOADED (as in Nova), with a fault and a failed event. */
  async #failUnshelve(trx: Db, row: LeasedInstance, message: string, details: string): Promise<PlaceOutcome> {
    const updated = await updateInstance(
      trx,
      row.uuid,
      { taskState: TaskState.UNSHELVING, host: null, version: row.version },
      { task_state: null, lease_owner: null, lease_expires_at: null },
    );
    if (!updated) return 'gone';
    await addInstanceFault(trx, { instanceUuid: row.uuid, code: 500, message, details, host: null });
    const action = await latestInstanceAction(trx, row.uuid, 'unshelve');
    if (action) {
      const ev = await startActionEvent(trx, action.id, 'conductor_unshelve_instance', this.#o.schedulerHost);
      await finishActionEvent(trx, ev, 'Error', message);
    }
    this.#o.logger.info({ instance: row.uuid }, message);
    return 'failed';
  }
}

/** host_subset_size: a random one of the best `size` first (fewer races between schedulers), then the rest. */
function pickOrder<T>(ranked: readonly T[], size: number): readonly T[] {
  if (size <= 1 || ranked.length <= 1) return ranked;
  const i = Math.floor(Math.random() * Math.min(size, ranked.length));
  return [ranked[i] as T, ...ranked.filter((_, j) => j !== i)];
}
