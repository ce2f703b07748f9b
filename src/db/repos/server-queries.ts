import { sql, type RawBuilder, type SqlBool } from 'kysely';
import type { Db } from '../database.js';
import type { DialectName } from '../dialect.js';
import type { InstanceActionEventRow, InstanceActionRow, InstanceFaultRow, InstanceRow } from '../schema.js';

/**
 * The read side of the Compute API's servers: list with Nova's filters and keyset
 * pagination, and batch loads (metadata, faults) for a whole page so that a page of
 * a thousand servers costs a handful of queries, not thousands.
 */

/** Instance columns a list may be sorted by. Nullable ones sort as '' so both dialects agree. */
export const SERVER_SORT_COLUMNS = {
  access_ip_v4: true,
  access_ip_v6: true,
  availability_zone: true,
  config_drive: false,
  created_at: false,
  display_description: true,
  display_name: false,
  host: true,
  hostname: false,
  image_ref: false,
  key_name: true,
  launch_index: false,
  launched_at: true,
  locked: false,
  node: true,
  power_state: false,
  progress: false,
  project_id: false,
  reservation_id: false,
  task_state: true,
  terminated_at: true,
  updated_at: false,
  user_id: false,
  uuid: false,
  vm_state: false,
} as const satisfies Record<string, boolean>;
export type ServerSortColumn = keyof typeof SERVER_SORT_COLUMNS;

export interface ServerSort {
  readonly column: ServerSortColumn;
  readonly dir: 'asc' | 'desc';
}

export interface ServerListFilter {
  /** Only this project's servers; undefined: every project (admin). */
  readonly projectId?: string;
  readonly deleted: 'no' | 'yes' | 'only';
  readonly vmStates?: readonly string[];
  /** Only these task states (null included when listed). */
  readonly taskStates?: readonly (string | null)[];
  /** A regular expression searched in the name (Nova's `name` filter). */
  readonly nameRegex?: string;
  readonly imageRef?: string;
  readonly flavorId?: string;
  readonly host?: string;
  readonly node?: string;
  /** ISO time: only servers changed at or after it. */
  readonly changesSince?: string;
  readonly reservationId?: string;
  /** Server tags (2.26): all of `tags`, any of `tagsAny`, not all of `notTags`, none of `notTagsAny`. */
  readonly tags?: readonly string[];
  readonly tagsAny?: readonly string[];
  readonly notTags?: readonly string[];
  readonly notTagsAny?: readonly string[];
  /** ISO time: only servers changed at or before it (2.66). */
  readonly changesBefore?: string;
  /** Exact matches on these columns (Nova's simple filters). */
  readonly equals?: Readonly<Partial<Record<EqualityColumn, string | number>>>;
}

/** Columns Nova filters on by exact value. */
export const EQUALITY_COLUMNS = ['availability_zone', 'config_drive', 'key_name', 'power_state', 'task_state', 'vm_state', 'progress', 'user_id', 'locked', 'created_at', 'launched_at', 'terminated_at'] as const;
export type EqualityColumn = (typeof EQUALITY_COLUMNS)[number];

/**
 * The columns a server view shows. Lists read only these: materializing every column
 * (user_data alone may be 64 KiB) dominates the cost of a large page.
 */
export const SERVER_VIEW_COLUMNS = [
  'uuid',
  'display_name',
  'vm_state',
  'task_state',
  'power_state',
  'project_id',
  'user_id',
  'host',
  'node',
  'image_ref',
  'flavor',
  'created_at',
  'updated_at',
  'access_ip_v4',
  'access_ip_v6',
  'key_name',
  'config_drive',
  'availability_zone',
  'requested_availability_zone',
  'launched_at',
  'terminated_at',
  'progress',
  'reservation_id',
  'launch_index',
  'hostname',
  'locked',
  'locked_reason',
  'auto_disk_config',
  'display_description',
] as const satisfies readonly (keyof InstanceRow)[];
export type ServerViewRow = Pick<InstanceRow, (typeof SERVER_VIEW_COLUMNS)[number]>;

function sortExpr(column: ServerSortColumn): RawBuilder<unknown> {
  return SERVER_SORT_COLUMNS[column] ? sql`coalesce(${sql.ref(column)}, '')` : sql.ref(column);
}

/**
 * One page of servers. `sorts` must end with a unique column (uuid) so that the
 * marker (the last row of the previous page) pins an exact position.
 */
export async function listServers(
  db: Db,
  dialect: DialectName,
  filter: ServerListFilter,
  sorts: readonly ServerSort[],
  limit: number,
  marker?: InstanceRow,
): Promise<ServerViewRow[]> {
  let q = db.selectFrom('instances').select(SERVER_VIEW_COLUMNS);
  if (filter.projectId !== undefined) q = q.where('project_id', '=', filter.projectId);
  if (filter.deleted === 'no') q = q.where('deleted', '=', 0);
  else if (filter.deleted === 'only') q = q.where('deleted', '=', 1);
  if (filter.vmStates) q = q.where('vm_state', 'in', filter.vmStates.length > 0 ? [...filter.vmStates] : ['']);
  if (filter.taskStates) {
    const named = filter.taskStates.filter((t): t is string => t !== null);
    const withNull = filter.taskStates.includes(null);
    q = q.where((eb) => {
      const ors = [];
      if (named.length > 0) ors.push(eb('task_state', 'in', named));
      if (withNull || named.length === 0) ors.push(eb('task_state', 'is', null));
      return eb.or(ors);
    });
  }
  if (filter.imageRef !== undefined) q = q.where('image_ref', '=', filter.imageRef);
  if (filter.flavorId !== undefined) {
    const fid = dialect === 'postgres' ? sql<string>`(flavor::json->>'id')` : sql<string>`json_extract(flavor, '$.id')`;
    q = q.where(fid, '=', filter.flavorId);
  }
  if (filter.host !== undefined) q = q.where('host', '=', filter.host);
  if (filter.node !== undefined) q = q.where('node', '=', filter.node);
  if (filter.changesSince !== undefined) q = q.where('updated_at', '>=', filter.changesSince);
  if (filter.changesBefore !== undefined) q = q.where('updated_at', '<=', filter.changesBefore);
  for (const [column, value] of Object.entries(filter.equals ?? {}) as [EqualityColumn, string | number][]) q = q.where(column, '=', value as never);
  if (filter.reservationId !== undefined) q = q.where('reservation_id', '=', filter.reservationId);
  if (filter.nameRegex !== undefined) {
    const literal = literalOf(filter.nameRegex);
    if (literal !== undefined) {
      q = q.where(sql<SqlBool>`${sql.ref('display_name')} like ${'%' + escapeLike(literal) + '%'} escape '\\'`);
    } else if (dialect === 'postgres') {
      q = q.where(sql<SqlBool>`${sql.ref('display_name')} ~ ${filter.nameRegex}`);
    } else {
      // SQLite has no REGEXP function here: match the names in JS, then select by uuid.
      const uuids = await namesMatching(db, filter, new RegExp(filter.nameRegex));
      q = q.where(sql<SqlBool>`${sql.ref('uuid')} in (select value from json_each(${JSON.stringify(uuids)}))`);
    }
  }
  for (const tag of filter.tags ?? []) {
    q = q.where('uuid', 'in', (eb) => eb.selectFrom('instance_tags').select('instance_uuid').where('tag', '=', tag));
  }
  const tagsAny = filter.tagsAny;
  if (tagsAny && tagsAny.length > 0) q = q.where('uuid', 'in', (eb) => eb.selectFrom('instance_tags').select('instance_uuid').where('tag', 'in', [...tagsAny]));
  const notTagsAny = filter.notTagsAny;
  if (notTagsAny && notTagsAny.length > 0) {
    q = q.where('uuid', 'not in', (eb) => eb.selectFrom('instance_tags').select('instance_uuid').where('tag', 'in', [...notTagsAny]));
  }
  const notTags = filter.notTags;
  if (notTags && notTags.length > 0) {
    const wanted = new Set(notTags).size;
    q = q.where('uuid', 'not in', (eb) =>
      eb
        .selectFrom('instance_tags')
        .select('instance_uuid')
        .where('tag', 'in', [...notTags])
        .groupBy('instance_uuid')
        .having((h) => h.fn.count('tag').distinct(), '=', wanted),
    );
  }
  if (marker) q = q.where(afterMarker(sorts, marker));
  for (const s of sorts) q = q.orderBy(sortExpr(s.column), s.dir);
  return q.limit(limit).execute();
}

/** (k1 > m1) OR (k1 = m1 AND k2 > m2) OR ..., with < for descending keys. */
function afterMarker(sorts: readonly ServerSort[], marker: InstanceRow): RawBuilder<SqlBool> {
  const ors: RawBuilder<SqlBool>[] = [];
  for (let i = 0; i < sorts.length; i++) {
    const ands: RawBuilder<SqlBool>[] = [];
    for (let j = 0; j < i; j++) {
      const s = sorts[j];
      if (s) ands.push(sql<SqlBool>`${sortExpr(s.column)} = ${markerValue(marker, s.column)}`);
    }
    const s = sorts[i];
    if (!s) continue;
    const op = s.dir === 'asc' ? sql.raw('>') : sql.raw('<');
    ands.push(sql<SqlBool>`${sortExpr(s.column)} ${op} ${markerValue(marker, s.column)}`);
    ors.push(sql<SqlBool>`(${sql.join(ands, sql` and `)})`);
  }
  return sql<SqlBool>`(${sql.join(ors, sql` or `)})`;
}

function markerValue(marker: InstanceRow, column: ServerSortColumn): string | number {
  return marker[column] ?? '';
}

/** The regex as a plain substring when it has no special characters (LIKE can use it directly). */
function literalOf(regex: string): string | undefined {
  return /^[\w\s-]*$/u.test(regex) ? regex : undefined;
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

async function namesMatching(db: Db, filter: ServerListFilter, re: RegExp): Promise<string[]> {
  let q = db.selectFrom('instances').select(['uuid', 'display_name']);
  if (filter.projectId !== undefined) q = q.where('project_id', '=', filter.projectId);
  if (filter.deleted === 'no') q = q.where('deleted', '=', 0);
  else if (filter.deleted === 'only') q = q.where('deleted', '=', 1);
  const rows = await q.execute();
  return rows.filter((r) => re.test(r.display_name)).map((r) => r.uuid);
}

const CHUNK = 900;

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

/** Metadata of many servers at once. */
/** user_data of these instances (base64 as submitted; null when none), for the admin view at 2.3+. */
export async function userDataOf(db: Db, uuids: readonly string[]): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  for (const part of chunks(uuids)) {
    if (part.length === 0) continue;
    const rows = await db.selectFrom('instances').select(['uuid', 'user_data']).where('uuid', 'in', part).execute();
    for (const r of rows) out.set(r.uuid, r.user_data);
  }
  return out;
}

export async function metadataOf(db: Db, uuids: readonly string[]): Promise<Map<string, Record<string, string>>> {
  const out = new Map<string, Record<string, string>>();
  for (const part of chunks(uuids)) {
    if (part.length === 0) continue;
    const rows = await db.selectFrom('instance_metadata').select(['instance_uuid', 'key', 'value']).where('instance_uuid', 'in', part).execute();
    for (const r of rows) {
      let m = out.get(r.instance_uuid);
      if (!m) out.set(r.instance_uuid, (m = {}));
      m[r.key] = r.value;
    }
  }
  return out;
}

/** The newest fault of each of these servers. */
export async function latestFaultsOf(db: Db, uuids: readonly string[]): Promise<Map<string, InstanceFaultRow>> {
  const out = new Map<string, InstanceFaultRow>();
  for (const part of chunks(uuids)) {
    if (part.length === 0) continue;
    const rows = await db.selectFrom('instance_faults').selectAll().where('instance_uuid', 'in', part).orderBy('id', 'desc').execute();
    for (const r of rows) if (!out.has(r.instance_uuid)) out.set(r.instance_uuid, r);
  }
  return out;
}

// --- server metadata writes ---

/** Adds or replaces the given items (replace: removes every other item first). */
export async function writeMetadata(db: Db, uuid: string, items: Readonly<Record<string, string>>, replace: boolean): Promise<void> {
  await db.transaction().execute(async (trx) => {
    if (replace) await trx.deleteFrom('instance_metadata').where('instance_uuid', '=', uuid).execute();
    for (const [key, value] of Object.entries(items)) {
      await trx
        .insertInto('instance_metadata')
        .values({ instance_uuid: uuid, key, value })
        .onConflict((oc) => oc.columns(['instance_uuid', 'key']).doUpdateSet({ value }))
        .execute();
    }
  });
}

export async function deleteMetadataKey(db: Db, uuid: string, key: string): Promise<boolean> {
  const r = await db.deleteFrom('instance_metadata').where('instance_uuid', '=', uuid).where('key', '=', key).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

// --- instance action log ---

export async function listInstanceActions(db: Db, uuid: string): Promise<InstanceActionRow[]> {
  return db.selectFrom('instance_actions').selectAll().where('instance_uuid', '=', uuid).orderBy('start_time', 'desc').orderBy('id', 'desc').execute();
}

export async function getInstanceAction(db: Db, uuid: string, requestId: string): Promise<InstanceActionRow | undefined> {
  return db
    .selectFrom('instance_actions')
    .selectAll()
    .where('instance_uuid', '=', uuid)
    .where('request_id', '=', requestId)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
}

export async function listActionEvents(db: Db, actionId: number): Promise<InstanceActionEventRow[]> {
  return db.selectFrom('instance_action_events').selectAll().where('action_id', '=', actionId).orderBy('id').execute();
}

// --- deleting a server that never reached a compute host ---

