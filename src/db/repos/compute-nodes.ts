import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
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
  const changed = !existing || (Object.keys(facts) as (keyof typeof facts)[]).some((k) => k !== 'running_vms' && existing[k] !== facts[k]);
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
export type SchedulerNodeRow = ComputeNodeRow & {
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
 * The capacity rule, in SQL, shared by every claim: a resource fits when
 * used + request ≤ capacity × allocation ratio − reserved. A zero request is not checked
 * (as placement does not check a resource class that is not requested), so an
 * over-committed node still takes a server that needs none of what it lacks.
 */
function fitsConditions(r: ResourceRequest) {
  const parts = [];
  if (r.vcpus > 0) parts.push(sql<boolean>`vcpus_used + ${r.vcpus} <= vcpus * cpu_allocation_ratio - reserved_host_cpus`);
  if (r.memoryMb > 0) parts.push(sql<boolean>`memory_mb_used + ${r.memoryMb} <= memory_mb * ram_allocation_ratio - reserved_host_memory_mb`);
  // reserved_host_disk_mb is rounded up to whole GB, as Nova reports it to placement.
  if (r.diskGb > 0) parts.push(sql<boolean>`local_gb_used + ${r.diskGb} <= local_gb * disk_allocation_ratio - ((reserved_host_disk_mb + 1023) / 1024)`);
  return parts;
}

/**
 * Takes `request` from node `nodeId` for the instance: a guarded UPDATE of the node's
 * counters and the allocation row. Call it inside a transaction (with the instance's own
 * guarded update) so that both happen or neither. False when the node has no room (any
 * more): nothing was written.
 */
export async function claimOnNode(trx: Db, nodeId: number, instanceUuid: string, request: ResourceRequest): Promise<boolean> {
  let q = trx
    .updateTable('compute_nodes')
    .set((eb) => ({
      vcpus_used: eb('vcpus_used', '+', request.vcpus),
      memory_mb_used: eb('memory_mb_used', '+', request.memoryMb),
      local_gb_used: eb('local_gb_used', '+', request.diskGb),
    }))
    .where('id', '=', nodeId)
    .where('deleted', '=', 0);
  for (const c of fitsConditions(request)) q = q.where(c);
  const r = await q.executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1) return false;
  await trx
    .insertInto('allocations')
    .values({ instance_uuid: instanceUuid, node_id: nodeId, vcpus: request.vcpus, memory_mb: request.memoryMb, disk_gb: request.diskGb, created_at: now() })
    .execute();
  return true;
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
