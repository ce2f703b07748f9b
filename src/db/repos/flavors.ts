import type { Db } from '../database.js';
import type { FlavorRow } from '../schema.js';
import { now } from '../time.js';

/**
 * Flavors, their extra specs and their project access list. A private flavor is
 * visible to admins and to the projects on its access list; everyone else gets
 * "not found", as Nova's flavor query does.
 */
export interface FlavorViewer {
  readonly isAdmin: boolean;
  readonly projectId: string | null;
}

export interface FlavorListFilter {
  /** true: public only (plus private ones the project may use, for non-admins); false: private only; null: all. */
  readonly isPublic: boolean | null;
  /** Non-admins never see disabled flavors in lists. */
  readonly includeDisabled: boolean;
  readonly minRam?: number;
  readonly minDisk?: number;
}

/** Sortable flavor columns (Nova's flavor model columns); the API maps names onto these. */
export const FLAVOR_SORT_KEYS = [
  'created_at',
  'description',
  'disabled',
  'ephemeral_gb',
  'flavorid',
  'id',
  'is_public',
  'memory_mb',
  'name',
  'root_gb',
  'rxtx_factor',
  'swap',
  'updated_at',
  'vcpus',
] as const;
export type FlavorSortKey = (typeof FLAVOR_SORT_KEYS)[number];

export async function listFlavors(
  db: Db,
  viewer: FlavorViewer,
  filter: FlavorListFilter,
  sort: { key: FlavorSortKey; dir: 'asc' | 'desc' },
): Promise<FlavorRow[]> {
  let q = db.selectFrom('flavors').selectAll();
  if (!filter.includeDisabled) q = q.where('disabled', '=', 0);
  if (filter.minRam !== undefined) q = q.where('memory_mb', '>=', filter.minRam);
  if (filter.minDisk !== undefined) q = q.where('root_gb', '>=', filter.minDisk);
  if (viewer.isAdmin) {
    if (filter.isPublic !== null) q = q.where('is_public', '=', filter.isPublic ? 1 : 0);
  } else {
    const projectId = viewer.projectId ?? '';
    q = q.where((eb) =>
      eb.or([
        eb('is_public', '=', 1),
        eb('id', 'in', eb.selectFrom('flavor_projects').select('flavor_id').where('project_id', '=', projectId)),
      ]),
    );
    if (filter.isPublic === false) q = q.where('is_public', '=', 0);
  }
  // The internal id breaks ties so that marker pagination is stable.
  return q.orderBy(sort.key, sort.dir).orderBy('id', sort.dir).execute();
}

/** The flavor with this API id, if the viewer may see it. */
export async function getFlavor(db: Db, flavorid: string, viewer: FlavorViewer): Promise<FlavorRow | undefined> {
  const row = await db.selectFrom('flavors').selectAll().where('flavorid', '=', flavorid).executeTakeFirst();
  if (!row || viewer.isAdmin || row.is_public === 1) return row;
  if (viewer.projectId === null) return undefined;
  const access = await db
    .selectFrom('flavor_projects')
    .select('project_id')
    .where('flavor_id', '=', row.id)
    .where('project_id', '=', viewer.projectId)
    .executeTakeFirst();
  return access ? row : undefined;
}

export interface NewFlavor {
  readonly flavorid: string;
  readonly name: string;
  readonly description: string | null;
  readonly vcpus: number;
  readonly memory_mb: number;
  readonly root_gb: number;
  readonly ephemeral_gb: number;
  readonly swap: number;
  readonly rxtx_factor: number;
  readonly is_public: boolean;
}

export type FlavorInsertResult = { ok: true; row: FlavorRow } | { ok: false; duplicate: 'name' | 'id' };

/** Inserts a flavor unless its name or id is taken (checked and inserted in one transaction). */
export async function createFlavor(db: Db, f: NewFlavor): Promise<FlavorInsertResult> {
  return db.transaction().execute(async (trx) => {
    const clash = await trx
      .selectFrom('flavors')
      .select(['name', 'flavorid'])
      .where((eb) => eb.or([eb('name', '=', f.name), eb('flavorid', '=', f.flavorid)]))
      .executeTakeFirst();
    if (clash) return { ok: false, duplicate: clash.flavorid === f.flavorid ? 'id' : 'name' } as const;
    const t = now();
    const row = await trx
      .insertInto('flavors')
      .values({ ...f, is_public: f.is_public ? 1 : 0, disabled: 0, created_at: t, updated_at: t })
      .returningAll()
      .executeTakeFirstOrThrow();
    return { ok: true, row } as const;
  });
}

/** Sets a flavor's description (2.55); returns the updated row. */
export async function updateFlavorDescription(db: Db, id: number, description: string | null): Promise<FlavorRow> {
  return db.updateTable('flavors').set({ description, updated_at: now() }).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
}

/** Deletes a flavor with its specs and access list; servers keep their snapshot. */
export async function deleteFlavor(db: Db, id: number): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('flavor_extra_specs').where('flavor_id', '=', id).execute();
    await trx.deleteFrom('flavor_projects').where('flavor_id', '=', id).execute();
    await trx.deleteFrom('flavors').where('id', '=', id).execute();
  });
}

export async function getExtraSpecs(db: Db, flavorId: number): Promise<Record<string, string>> {
  const rows = await db.selectFrom('flavor_extra_specs').select(['key', 'value']).where('flavor_id', '=', flavorId).orderBy('key').execute();
  return Object.fromEntries(rows.map((r) => [r.key, r.value]));
}

/** Adds or replaces the given specs, leaving the others. */
export async function setExtraSpecs(db: Db, flavorId: number, specs: Readonly<Record<string, string>>): Promise<void> {
  const entries = Object.entries(specs);
  if (entries.length === 0) return;
  await db.transaction().execute(async (trx) => {
    for (const [key, value] of entries) {
      await trx
        .insertInto('flavor_extra_specs')
        .values({ flavor_id: flavorId, key, value })
        .onConflict((oc) => oc.columns(['flavor_id', 'key']).doUpdateSet({ value }))
        .execute();
    }
    await trx.updateTable('flavors').set({ updated_at: now() }).where('id', '=', flavorId).execute();
  });
}

/** Returns whether the key existed. */
export async function deleteExtraSpec(db: Db, flavorId: number, key: string): Promise<boolean> {
  const r = await db.deleteFrom('flavor_extra_specs').where('flavor_id', '=', flavorId).where('key', '=', key).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export async function listFlavorAccess(db: Db, flavorId: number): Promise<string[]> {
  const rows = await db.selectFrom('flavor_projects').select('project_id').where('flavor_id', '=', flavorId).orderBy('project_id').execute();
  return rows.map((r) => r.project_id);
}

/** Returns false when the project already had access. */
export async function addFlavorAccess(db: Db, flavorId: number, projectId: string): Promise<boolean> {
  const r = await db
    .insertInto('flavor_projects')
    .values({ flavor_id: flavorId, project_id: projectId })
    .onConflict((oc) => oc.columns(['flavor_id', 'project_id']).doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
}

/** Returns false when the project had no access. */
export async function removeFlavorAccess(db: Db, flavorId: number, projectId: string): Promise<boolean> {
  const r = await db.deleteFrom('flavor_projects').where('flavor_id', '=', flavorId).where('project_id', '=', projectId).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** Nova's classic flavors, created on first start so that `--flavor m1.small` works at once. */
export const DEFAULT_FLAVORS: readonly NewFlavor[] = [
  { flavorid: '1', name: 'm1.tiny', vcpus: 1, memory_mb: 512, root_gb: 1 },
  { flavorid: '2', name: 'm1.small', vcpus: 1, memory_mb: 2048, root_gb: 20 },
  { flavorid: '3', name: 'm1.medium', vcpus: 2, memory_mb: 4096, root_gb: 40 },
  { flavorid: '4', name: 'm1.large', vcpus: 4, memory_mb: 8192, root_gb: 80 },
  { flavorid: '5', name: 'm1.xlarge', vcpus: 8, memory_mb: 16384, root_gb: 160 },
].map((f) => ({ ...f, description: null, ephemeral_gb: 0, swap: 0, rxtx_factor: 1, is_public: true }));

/** Creates the default flavors when there are no flavors at all; returns how many it created. */
export async function seedDefaultFlavors(db: Db): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const any = await trx.selectFrom('flavors').select('id').limit(1).executeTakeFirst();
    if (any) return 0;
    const t = now();
    await trx
      .insertInto('flavors')
      .values(DEFAULT_FLAVORS.map((f) => ({ ...f, is_public: 1 as const, disabled: 0 as const, created_at: t, updated_at: t })))
      .execute();
    return DEFAULT_FLAVORS.length;
  });
}
