import { randomUUID } from 'node:crypto';
import { CompiledQuery, sql, type Compilable } from 'kysely';
import type { Db } from '../database.js';
import type { ComputeNodeRow } from '../schema.js';
import { now } from '../time.js';

/**
 * Compute nodes (one per hypervisor unit: a vCenter cluster, a KVM host, a fake node)
 * and the allocations that use them. The agent owns a node's capacity and facts
 * (`upsertComputeNode`); the scheduler owns its usage: `*_used` are sums of the
 * allocations on the node and change only in the transaction that adds or removes an
 * allocation (`claimOnNode`, `releaseAllocation`), so they can never drift or oversubscribe.
 */

/** What an agent reports about one node; allocation ratios and reserved amounts come from its config. */
export interface NodeReport {
  readonly nodename: string;
  readonly hypervisorType: string;
  readonly hypervisorVersion: number;
  readonly hostIp: string;
  readonly cpuInfo: string;
  readonly capabilities: string;
  readonly availabilityZone: string | null;
  readonly vcpus: number;
  readonly memoryMb: number;
  readonly localGb: number;
  readonly runningVms: number;
  readonly cpuAllocationRatio: number;
  readonly ramAllocationRatio: number;
  readonly diskAllocationRatio: number;
  readonly reservedHostMemoryMb: number;
  readonly reservedHostDiskMb: number;
  readonly reservedHostCpus: number;
  readonly bootTime?: string | null;
}

/** The amounts one instance takes from a node. */
export interface ResourceRequest {
  readonly vcpus: number;
  readonly memoryMb: number;
  readonly diskGb: number;
}

/**
 * Inserts or updates the node named `report.nodename` for this service; never touches the
 * `*_used` counters. Returns the row and whether anything the scheduler looks at changed.
 */
export async function upsertComputeNode(db: Db, serviceId: number, report: NodeReport): Promise<{ row: ComputeNodeRow; changed: boolean }> {
  const t = now();
  const facts = {
    service_id: serviceId,
    hypervisor_type: report.hypervisorType,
    hypervisor_version: report.hypervisorVersion,
    host_ip: report.hostIp,
    cpu_info: report.cpuInfo,
    availability_zone: report.availabilityZone,
    vcpus: report.vcpus,
    memory_mb: report.memoryMb,
    local_gb: report.localGb,
    running_vms: report.runningVms,
    cpu_allocation_ratio: report.cpuAllocationRatio,
    ram_allocation_ratio: report.ramAllocationRatio,
    disk_allocation_ratio: report.diskAllocationRatio,
    reserved_host_memory_mb: report.reservedHostMemoryMb,
    reserved_host_disk_mb: report.reservedHostDiskMb,
    reserved_host_cpus: report.reservedHostCpus,
    capabilities: report.capabilities,
    boot_time: report.bootTime ?? null,
    deleted: 0 as const,
  };
  const existing = await db.selectFrom('compute_nodes').selectAll().where('hypervisor_hostname', '=', report.nodename).executeTakeFirst();
  if (!existing) {
    const row = await db
      .insertInto('compute_nodes')
      .values({ ...facts, uuid: randomUUID(), hypervisor_hostname: report.nodename, vcpus_used: 0, memory_mb_used: 0, local_gb_used: 0, created_at: t, updated_at: t })
      .onConflict((oc) => oc.column('hypervisor_hostname').doNothing())
      .returningAll()
      .executeTakeFirst();
    // Lost an insert race with another reporter of the same name: update it like an existing row.
    if (row) return { row, changed: true };
  }
  const changed = !existing || (Object.keys(facts) as (keyof typeof facts)[]).some((k) => k !== 'running_vms' && k !== 'boot_time' && existing[k] !== facts[k]);
  const row = await db
    .updateTable('compute_nodes')
    .set({ ...facts, updated_at: t })
    .where('hypervisor_hostname', '=', report.nodename)
    .returningAll()
    .executeTakeFirstOrThrow();
  return { row, changed };
}

/** Marks the service's nodes that the driver no longer reports as deleted; returns their names. */
export async function deleteOrphanNodes(db: Db, serviceId: number, keep: readonly string[]): Promise<string[]> {
  let q = db.updateTable('compute_nodes').set({ deleted: 1, updated_at: now() }).where('service_id', '=', serviceId).where('deleted', '=', 0);
  if (keep.length > 0) q = q.where('hypervisor_hostname', 'not in', [...keep]);
  const rows = await q.returning('hypervisor_hostname').execute();
  return rows.map((r) => r.hypervisor_hostname);
}

export async function getComputeNode(db: Db, nodename: string): Promise<ComputeNodeRow | undefined> {
  return db.selectFrom('compute_nodes').selectAll().where('hypervisor_hostname', '=', nodename).where('deleted', '=', 0).executeTakeFirst();
}

/** A node with the facts of its service, as the scheduler filters it. */
export type SchedulerNodeRow = Omit<ComputeNodeRow, 'boot_time'> & {
  readonly host: string;
  readonly service_disabled: 0 | 1;
  readonly service_forced_down: 0 | 1;
  readonly service_last_seen_at: string | null;
};

function schedulerNodes(db: Db) {
  return db
    .selectFrom('compute_nodes')
    .innerJoin('services', 'services.id', 'compute_nodes.service_id')
    .selectAll('compute_nodes')
    .select([
      'services.host as host',
      'services.disabled as service_disabled',
      'services.forced_down as service_forced_down',
      'services.last_seen_at as service_last_seen_at',
    ])
    .where('compute_nodes.deleted', '=', 0);
}

export async function listSchedulerNodes(db: Db): Promise<SchedulerNodeRow[]> {
  return schedulerNodes(db).orderBy('compute_nodes.id').execute();
}

export async function getSchedulerNode(db: Db, by: { id: number } | { nodename: string }): Promise<SchedulerNodeRow | undefined> {
  const q = schedulerNodes(db);
  return ('id' in by ? q.where('compute_nodes.id', '=', by.id) : q.where('compute_nodes.hypervisor_hostname', '=', by.nodename)).executeTakeFirst();
}

/**
 * A query built once per database (adapter) with the query builder and then run with new
 * values: the claim is the hot path of every boot, and building and compiling its three
 * statements with Kysely on every placement costs several times what SQLite needs to run
 * them. Each named parameter is compiled as a sentinel value, so the parameter order comes
 * from the compiler itself, whatever the dialect.
 */
class QueryTemplate<P extends string> {
  readonly #keys: readonly P[];
  readonly #build: (db: Db, p: Readonly<Record<P, never>>) => Compilable;
  readonly #compiled = new WeakMap<object, { sql: string; slots: readonly ({ key: P } | { value: unknown })[] }>();

  constructor(keys: readonly P[], build: (db: Db, p: Readonly<Record<P, never>>) => Compilable) {
    this.#keys = keys;
    this.#build = build;
  }

  async run(db: Db, values: Readonly<Record<P, unknown>>): Promise<number> {
    const adapter = db.getExecutor().adapter;
    let c = this.#compiled.get(adapter);
    if (!c) {
      const prefix = `\u0000template:${randomUUID()}:`;
      const sentinels = Object.fromEntries(this.#keys.map((k) => [k, `${prefix}${k}`])) as unknown as Record<P, never>;
      const q = this.#build(db, sentinels).compile();
      c = {
        sql: q.sql,
        slots: q.parameters.map((v) => (typeof v === 'string' && v.startsWith(prefix) ? { key: v.slice(prefix.length) as P } : { value: v })),
      };
      this.#compiled.set(adapter, c);
    }
    const params = c.slots.map((s) => ('key' in s ? values[s.key] : s.value));
    const r = await db.executeQuery(CompiledQuery.raw(c.sql, params));
    return Number(r.numAffectedRows ?? 0n);
  }
}

/**
 * The capacity rule, in SQL, shared by every claim: a resource fits when
 * used + request ≤ (capacity − reserved) × allocation ratio, as Nova's placement computes it. A zero request is not checked
 * (as placement does not check a resource class that is not requested), so an
 * over-committed node still takes a server that needs none of what it lacks.
 * reserved_host_disk_mb is rounded up to whole GB, as Nova reports it to placement.
 */
const claimNode = new QueryTemplate(['id', 'vcpus', 'memoryMb', 'diskGb'] as const, (db, p) =>
  db
    .updateTable('compute_nodes')
    .set((eb) => ({
      vcpus_used: eb('vcpus_used', '+', p.vcpus),
      memory_mb_used: eb('memory_mb_used', '+', p.memoryMb),
      local_gb_used: eb('local_gb_used', '+', p.diskGb),
    }))
    .where('id', '=', p.id)
    .where('deleted', '=', 0)
    .where(sql<boolean>`(${p.vcpus} = 0 or vcpus_used + ${p.vcpus} <= (vcpus - reserved_host_cpus) * cpu_allocation_ratio)`)
    .where(sql<boolean>`(${p.memoryMb} = 0 or memory_mb_used + ${p.memoryMb} <= (memory_mb - reserved_host_memory_mb) * ram_allocation_ratio)`)
    .where(sql<boolean>`(${p.diskGb} = 0 or local_gb_used + ${p.diskGb} <= (local_gb - ((reserved_host_disk_mb + 1023) / 1024)) * disk_allocation_ratio)`),
);

const insertAllocation = new QueryTemplate(['uuid', 'nodeId', 'vcpus', 'memoryMb', 'diskGb', 'createdAt'] as const, (db, p) =>
  db.insertInto('allocations').values({ instance_uuid: p.uuid, node_id: p.nodeId, vcpus: p.vcpus, memory_mb: p.memoryMb, disk_gb: p.diskGb, created_at: p.createdAt }),
);

/**
 * Takes `request` from node `nodeId` for the instance: a guarded UPDATE of the node's
 * counters and the allocation row. Call it inside a transaction (with the instance's own
 * guarded update) so that both happen or neither. False when the node has no room (any
 * more): nothing was written.
 */
export async function claimOnNode(trx: Db, nodeId: number, instanceUuid: string, request: ResourceRequest): Promise<boolean> {
  const n = await claimNode.run(trx, { id: nodeId, vcpus: request.vcpus, memoryMb: request.memoryMb, diskGb: request.diskGb });
  if (n !== 1) return false;
  await insertAllocation.run(trx, { uuid: instanceUuid, nodeId, vcpus: request.vcpus, memoryMb: request.memoryMb, diskGb: request.diskGb, createdAt: now() });
  return true;
}

/**
 * The scheduler's placement of an instance, as updateInstance would write it with the
 * expectation {vmState: 'building', taskState: 'scheduling', host: null, version} (same
 * guard, same version bump and updated_at), precompiled for the hot path. True when it applied.
 */
const placeInstance = new QueryTemplate(['uuid', 'version', 'host', 'node', 'zone', 'updatedAt'] as const, (db, p) =>
  db
    .updateTable('instances')
    .set({ host: p.host, node: p.node, availability_zone: p.zone, task_state: 'spawning', lease_owner: null, lease_expires_at: null, updated_at: p.updatedAt })
    .set((eb) => ({ version: eb('version', '+', 1) }))
    .where('uuid', '=', p.uuid)
    .where('deleted', '=', 0)
    // A build, or the unshelve of an offloaded server (h-shelve); the version pins which.
    .where('vm_state', 'in', ['building', 'shelved_offloaded'])
    .where('task_state', 'in', ['scheduling', 'unshelving'])
    .where('version', '=', p.version)
    .where('host', 'is', null),
);

export async function placeOnNode(trx: Db, instance: { uuid: string; version: number }, place: { host: string; node: string; zone: string }): Promise<boolean> {
  const n = await placeInstance.run(trx, { uuid: instance.uuid, version: instance.version, host: place.host, node: place.node, zone: place.zone, updatedAt: now() });
  return n === 1;
}

/**
 * Removes the instance's allocation and gives its amounts back to the node; idempotent
 * (a second call finds no allocation and changes nothing). Returns the node's name, or
 * undefined when there was no allocation. Run it in the transaction that changes the instance.
 */
export async function releaseAllocation(trx: Db, instanceUuid: string): Promise<string | undefined> {
  const alloc = await trx.deleteFrom('allocations').where('instance_uuid', '=', instanceUuid).returningAll().executeTakeFirst();
  if (!alloc) return undefined;
  const node = await trx
    .updateTable('compute_nodes')
    .set((eb) => ({
      vcpus_used: eb('vcpus_used', '-', alloc.vcpus),
      memory_mb_used: eb('memory_mb_used', '-', alloc.memory_mb),
      local_gb_used: eb('local_gb_used', '-', alloc.disk_gb),
    }))
    .where('id', '=', alloc.node_id)
    .returning('hypervisor_hostname')
    .executeTakeFirst();
  return node?.hypervisor_hostname;
}

export async function getAllocation(db: Db, instanceUuid: string) {
  return db.selectFrom('allocations').selectAll().where('instance_uuid', '=', instanceUuid).executeTakeFirst();
}

/** Instances (not deleted) placed on each of the given nodes: the node's running_vms. */
export async function countInstancesByNode(db: Db, nodenames: readonly string[]): Promise<Map<string, number>> {
  if (nodenames.length === 0) return new Map();
  const rows = await db
    .selectFrom('instances')
    .select(['node', (eb) => eb.fn.countAll<number | string>().as('n')])
    .where('node', 'in', [...nodenames])
    .where('deleted', '=', 0)
    .groupBy('node')
    .execute();
  return new Map(rows.filter((r): r is typeof r & { node: string } => r.node !== null).map((r) => [r.node, Number(r.n)]));
}
