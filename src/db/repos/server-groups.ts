import { randomUUID } from 'node:crypto';
import type { Db } from '../database.js';
import type { InstanceGroupRow } from '../schema.js';
import { now } from '../time.js';

/**
 * Server groups (Nova's instance groups). Members are read joined to live instances, so a
 * deleted server leaves its groups as Nova's instance_destroy makes it do.
 */
export const GROUP_POLICIES = ['affinity', 'anti-affinity', 'soft-affinity', 'soft-anti-affinity'] as const;
export type GroupPolicy = (typeof GROUP_POLICIES)[number];

export interface ServerGroup {
  readonly row: InstanceGroupRow;
  readonly rules: Readonly<Record<string, number>>;
  readonly members: readonly string[];
}

export function parseRules(text: string): Record<string, number> {
  try {
    const v: unknown = JSON.parse(text);
    const out: Record<string, number> = {};
    if (v && typeof v === 'object') for (const [k, n] of Object.entries(v)) if (typeof n === 'number') out[k] = n;
    return out;
  } catch {
    return {};
  }
}

async function withMembers(db: Db, rows: readonly InstanceGroupRow[]): Promise<ServerGroup[]> {
  if (rows.length === 0) return [];
  const members = await db
    .selectFrom('instance_group_members as m')
    .innerJoin('instances as i', 'i.uuid', 'm.instance_uuid')
    .select(['m.group_uuid', 'm.instance_uuid'])
    .where('m.group_uuid', 'in', rows.map((r) => r.uuid))
    .where('i.deleted', '=', 0)
    .orderBy('m.created_at')
    .orderBy('i.launch_index')
    .execute();
  return rows.map((row) => ({
    row,
    rules: parseRules(row.rules),
    members: members.filter((m) => m.group_uuid === row.uuid).map((m) => m.instance_uuid),
  }));
}

export async function createServerGroup(
  db: Db,
  g: { name: string; projectId: string; userId: string; policy: GroupPolicy; rules: Record<string, number> },
): Promise<ServerGroup> {
  const row: InstanceGroupRow = {
    uuid: randomUUID(),
    name: g.name,
    project_id: g.projectId,
    user_id: g.userId,
    policy: g.policy,
    rules: JSON.stringify(g.rules),
    created_at: now(),
  };
  await db.insertInto('instance_groups').values(row).execute();
  return { row, rules: g.rules, members: [] };
}

export async function getServerGroup(db: Db, uuid: string): Promise<ServerGroup | undefined> {
  const row = await db.selectFrom('instance_groups').selectAll().where('uuid', '=', uuid).executeTakeFirst();
  return row ? (await withMembers(db, [row]))[0] : undefined;
}

/** Groups of one project (or all when projectId is undefined), oldest first. */
export async function listServerGroups(db: Db, projectId: string | undefined): Promise<ServerGroup[]> {
  let q = db.selectFrom('instance_groups').selectAll();
  if (projectId !== undefined) q = q.where('project_id', '=', projectId);
  return withMembers(db, await q.orderBy('created_at').orderBy('uuid').execute());
}

export async function deleteServerGroup(db: Db, uuid: string): Promise<boolean> {
  await db.deleteFrom('instance_group_members').where('group_uuid', '=', uuid).execute();
  const r = await db.deleteFrom('instance_groups').where('uuid', '=', uuid).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export async function countServerGroups(db: Db, projectId: string): Promise<number> {
  const r = await db.selectFrom('instance_groups').select((eb) => eb.fn.countAll<number | string>().as('n')).where('project_id', '=', projectId).executeTakeFirstOrThrow();
  return Number(r.n);
}

export async function addGroupMembers(db: Db, groupUuid: string, instanceUuids: readonly string[]): Promise<void> {
  if (instanceUuids.length === 0) return;
  const t = now();
  await db
    .insertInto('instance_group_members')
    .values(instanceUuids.map((instance_uuid) => ({ group_uuid: groupUuid, instance_uuid, created_at: t })))
    .execute();
}

/** The group an instance belongs to (Nova allows one), with the hosts of its other live members. */
export interface InstanceGroupPlacement {
  readonly uuid: string;
  readonly policy: GroupPolicy;
  readonly rules: Readonly<Record<string, number>>;
  /** host → how many other members are on it (placed members only). */
  readonly hosts: ReadonlyMap<string, number>;
}

export async function groupPlacementOf(db: Db, instanceUuid: string): Promise<InstanceGroupPlacement | undefined> {
  const g = await db
    .selectFrom('instance_group_members as m')
    .innerJoin('instance_groups as g', 'g.uuid', 'm.group_uuid')
    .select(['g.uuid', 'g.policy', 'g.rules'])
    .where('m.instance_uuid', '=', instanceUuid)
    .executeTakeFirst();
  if (!g) return undefined;
  const rows = await db
    .selectFrom('instance_group_members as m')
    .innerJoin('instances as i', 'i.uuid', 'm.instance_uuid')
    .select('i.host')
    .where('m.group_uuid', '=', g.uuid)
    .where('m.instance_uuid', '!=', instanceUuid)
    .where('i.deleted', '=', 0)
    .where('i.host', 'is not', null)
    .execute();
  const hosts = new Map<string, number>();
  for (const r of rows) if (r.host !== null) hosts.set(r.host, (hosts.get(r.host) ?? 0) + 1);
  return { uuid: g.uuid, policy: g.policy as GroupPolicy, rules: parseRules(g.rules), hosts };
}

/** The uuids of the groups each instance belongs to (for 2.71's server_groups). */
export async function groupsOfInstance(db: Db, instanceUuid: string): Promise<string[]> {
  const rows = await db.selectFrom('instance_group_members').select('group_uuid').where('instance_uuid', '=', instanceUuid).execute();
  return rows.map((r) => r.group_uuid);
}
