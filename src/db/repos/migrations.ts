import { randomUUID } from 'node:crypto';
import type { Db } from '../database.js';
import type { MigrationRow } from '../schema.js';
import { now } from '../time.js';

/**
 * Nova's migration records: one per resize, cold or live migration and evacuation. The
 * API creates a record with the move; the agents of the source and the destination move
 * its status along (guarded by the status they expect, as instances are guarded by task_state).
 */
export type MigrationType = 'resize' | 'migration' | 'live-migration' | 'evacuation';

export interface NewMigration {
  readonly instanceUuid: string;
  readonly type: MigrationType;
  readonly status: string;
  readonly sourceCompute: string | null;
  readonly sourceNode: string | null;
  readonly destCompute?: string | null;
  readonly destNode?: string | null;
  readonly oldFlavor: string;
  readonly newFlavor: string;
  readonly oldVmState: string;
  readonly userId: string;
  readonly projectId: string;
}

export async function insertMigration(db: Db, m: NewMigration): Promise<MigrationRow> {
  const t = now();
  return db
    .insertInto('migrations')
    .values({
      uuid: randomUUID(),
      instance_uuid: m.instanceUuid,
      migration_type: m.type,
      status: m.status,
      source_compute: m.sourceCompute,
      source_node: m.sourceNode,
      dest_compute: m.destCompute ?? null,
      dest_node: m.destNode ?? null,
      dest_host: null,
      old_flavor: m.oldFlavor,
      new_flavor: m.newFlavor,
      old_vm_state: m.oldVmState,
      user_id: m.userId,
      project_id: m.projectId,
      created_at: t,
      updated_at: t,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The instance's newest migration (optionally only one in the given statuses / of the given types). */
export async function latestMigration(
  db: Db,
  instanceUuid: string,
  filter: { statuses?: readonly string[]; types?: readonly MigrationType[] } = {},
): Promise<MigrationRow | undefined> {
  let q = db.selectFrom('migrations').selectAll().where('instance_uuid', '=', instanceUuid);
  if (filter.statuses) q = q.where('status', 'in', [...filter.statuses]);
  if (filter.types) q = q.where('migration_type', 'in', [...filter.types]);
  return q.orderBy('id', 'desc').limit(1).executeTakeFirst();
}

export async function getMigrationById(db: Db, id: number): Promise<MigrationRow | undefined> {
  return db.selectFrom('migrations').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function getMigrationByUuid(db: Db, uuid: string): Promise<MigrationRow | undefined> {
  return db.selectFrom('migrations').selectAll().where('uuid', '=', uuid).executeTakeFirst();
}

/** Applies `set` when the migration's status is one of `expected`; returns the new row or undefined. */
export async function updateMigration(
  db: Db,
  id: number,
  expected: readonly string[] | undefined,
  set: Partial<Pick<MigrationRow, 'status' | 'dest_compute' | 'dest_node' | 'dest_host' | 'source_compute' | 'source_node'>>,
): Promise<MigrationRow | undefined> {
  let q = db.updateTable('migrations').set({ ...set, updated_at: now() }).where('id', '=', id);
  if (expected) q = q.where('status', 'in', [...expected]);
  return q.returningAll().executeTakeFirst();
}

/** Migrations whose next step belongs to the agent of `host` as the source: e.g. a confirm. */
export async function migrationsForSource(db: Db, host: string, statuses: readonly string[]): Promise<MigrationRow[]> {
  return db.selectFrom('migrations').selectAll().where('source_compute', '=', host).where('status', 'in', [...statuses]).orderBy('id').execute();
}

export interface MigrationFilter {
  readonly instanceUuid?: string;
  readonly status?: string;
  /** Matches the source or the destination compute host. */
  readonly host?: string;
  readonly sourceCompute?: string;
  readonly type?: string;
  readonly changesSince?: string;
  readonly changesBefore?: string;
  readonly userId?: string;
  readonly projectId?: string;
  /** Only rows older (in the list order) than this one: paging. */
  readonly after?: MigrationRow;
  readonly limit?: number;
}

/** Newest first (created_at, then id), as Nova's 2.59 list orders them. */
export async function listMigrations(db: Db, f: MigrationFilter): Promise<MigrationRow[]> {
  let q = db.selectFrom('migrations').selectAll();
  if (f.instanceUuid !== undefined) q = q.where('instance_uuid', '=', f.instanceUuid);
  if (f.status !== undefined) q = q.where('status', '=', f.status);
  if (f.host !== undefined) {
    const host = f.host;
    q = q.where((eb) => eb.or([eb('source_compute', '=', host), eb('dest_compute', '=', host)]));
  }
  if (f.sourceCompute !== undefined) q = q.where('source_compute', '=', f.sourceCompute);
  if (f.type !== undefined) q = q.where('migration_type', '=', f.type);
  if (f.changesSince !== undefined) q = q.where('updated_at', '>=', f.changesSince);
  if (f.changesBefore !== undefined) q = q.where('updated_at', '<=', f.changesBefore);
  if (f.userId !== undefined) q = q.where('user_id', '=', f.userId);
  if (f.projectId !== undefined) q = q.where('project_id', '=', f.projectId);
  if (f.after) {
    const a = f.after;
    q = q.where((eb) => eb.or([eb('created_at', '<', a.created_at), eb.and([eb('created_at', '=', a.created_at), eb('id', '<', a.id)])]));
  }
  q = q.orderBy('created_at', 'desc').orderBy('id', 'desc');
  if (f.limit !== undefined) q = q.limit(f.limit);
  return q.execute();
}

/** Hands an allocation to another consumer (Nova moves the source's to the migration while a resize waits). */
export async function moveAllocation(db: Db, from: string, to: string): Promise<boolean> {
  const r = await db.updateTable('allocations').set({ instance_uuid: to }).where('instance_uuid', '=', from).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}
