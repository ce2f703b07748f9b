import type { Db } from '../database.js';
import type { ComputeNodeRow, ServiceRow } from '../schema.js';
import { now } from '../time.js';

/**
 * What operators read and change about services and compute nodes through the
 * Compute API (os-services, os-hypervisors, os-availability-zone). Registration,
 * heartbeats and resource reports belong to the compute agent's own repositories.
 */
export async function listServices(db: Db, filter: { host?: string; binary?: string } = {}): Promise<ServiceRow[]> {
  let q = db.selectFrom('services').selectAll();
  if (filter.host !== undefined) q = q.where('host', '=', filter.host);
  if (filter.binary !== undefined) q = q.where('binary', '=', filter.binary);
  return q.orderBy('id').execute();
}

export async function getServiceById(db: Db, id: number): Promise<ServiceRow | undefined> {
  return db.selectFrom('services').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findService(db: Db, host: string, binary: string): Promise<ServiceRow | undefined> {
  return db.selectFrom('services').selectAll().where('host', '=', host).where('binary', '=', binary).executeTakeFirst();
}

export async function updateServiceStatus(
  db: Db,
  id: number,
  set: { disabled?: 0 | 1; disabled_reason?: string | null; forced_down?: 0 | 1 },
): Promise<ServiceRow | undefined> {
  return db
    .updateTable('services')
    .set({ ...set, updated_at: now() })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

/** Servers (not deleted) owned by a service host: a compute service hosting any cannot be deleted. */
export async function countInstancesOnHost(db: Db, host: string): Promise<number> {
  const row = await db
    .selectFrom('instances')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('host', '=', host)
    .where('deleted', '=', 0)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Deletes the service and marks its compute nodes deleted, in one transaction. A compute
 * service also leaves its aggregates, as Nova does, so no aggregate keeps a host that is gone.
 */
export async function deleteService(db: Db, id: number): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const svc = await trx.deleteFrom('services').where('id', '=', id).returning(['host', 'binary']).executeTakeFirst();
    await trx.updateTable('compute_nodes').set({ deleted: 1, updated_at: now() }).where('service_id', '=', id).execute();
    if (svc?.binary === 'nova-compute') await trx.deleteFrom('aggregate_hosts').where('host', '=', svc.host).execute();
  });
}

/** A compute node with the service that reports it. */
export interface NodeWithService {
  readonly node: ComputeNodeRow;
  readonly service: ServiceRow;
}

/** Live compute nodes, optionally those whose hypervisor_hostname contains `pattern` or has this id. */
export async function listNodes(db: Db, filter: { pattern?: string; id?: number } = {}): Promise<NodeWithService[]> {
  let q = db.selectFrom('compute_nodes').selectAll().where('deleted', '=', 0);
  if (filter.id !== undefined) q = q.where('id', '=', filter.id);
  if (filter.pattern !== undefined) q = q.where('hypervisor_hostname', 'like', `%${filter.pattern.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  const nodes = await q.orderBy('id').execute();
  if (nodes.length === 0) return [];
  const services = await db
    .selectFrom('services')
    .selectAll()
    .where('id', 'in', [...new Set(nodes.map((n) => n.service_id))])
    .execute();
  const byId = new Map(services.map((s) => [s.id, s]));
  const out: NodeWithService[] = [];
  for (const node of nodes) {
    const service = byId.get(node.service_id);
    if (service) out.push({ node, service });
  }
  return out;
}

/** Every live compute node (for zone membership), with its service. */
export async function listAllNodes(db: Db): Promise<NodeWithService[]> {
  return listNodes(db);
}

/** Live servers on the given nodes, by node name. */
export async function serversOnNodes(db: Db, nodeNames: readonly string[]): Promise<Map<string, { name: string; uuid: string }[]>> {
  const out = new Map<string, { name: string; uuid: string }[]>();
  if (nodeNames.length === 0) return out;
  const rows = await db
    .selectFrom('instances')
    .select(['uuid', 'display_name', 'node'])
    .where('node', 'in', [...nodeNames])
    .where('deleted', '=', 0)
    .orderBy('created_at')
    .execute();
  for (const r of rows) {
    if (r.node === null) continue;
    let list = out.get(r.node);
    if (!list) out.set(r.node, (list = []));
    list.push({ name: r.display_name, uuid: r.uuid });
  }
  return out;
}

/** Servers with a task in progress per node: Nova's `current_workload`. */
export async function workloadByNode(db: Db): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('instances')
    .select((eb) => ['node', eb.fn.countAll<number | string>().as('n')])
    .where('deleted', '=', 0)
    .where('task_state', 'is not', null)
    .where('node', 'is not', null)
    .groupBy('node')
    .execute();
  return new Map(rows.filter((r) => r.node !== null).map((r) => [r.node ?? '', Number(r.n)]));
}
