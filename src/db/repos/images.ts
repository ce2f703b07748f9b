import { sql, type Expression, type ExpressionBuilder, type Insertable, type SqlBool, type Updateable } from 'kysely';
import type { Db } from '../database.js';
import type { Database, ImageRow, ImageTable } from '../schema.js';
import { now } from '../time.js';

export type NewImage = Insertable<ImageTable>;
export type ImageUpdate = Updateable<ImageTable>;

/**
 * An image as another service (compute) may use it: visible to the project
 * (public, community, shared with it, or its own), not deleted.
 */
export async function findUsableImage(db: Db, id: string, projectId: string | null, isAdmin: boolean): Promise<ImageRow | undefined> {
  const row = await getImage(db, id);
  if (!row) return undefined;
  if (isAdmin || row.visibility === 'public' || row.visibility === 'community' || row.owner === projectId) return row;
  if (row.visibility === 'shared' && projectId !== null) {
    const status = await memberStatus(db, id, projectId);
    if (status !== undefined && status !== 'rejected') return row;
  }
  return undefined;
}

export function imageProperties(row: ImageRow): Record<string, string> {
  const parsed: unknown = JSON.parse(row.properties);
  const out: Record<string, string> = {};
  if (parsed && typeof parsed === 'object') for (const [k, v] of Object.entries(parsed)) if (typeof v === 'string') out[k] = v;
  return out;
}

export async function insertImage(db: Db, row: NewImage, tags: readonly string[] = []): Promise<ImageRow> {
  return db.transaction().execute(async (tx) => {
    const inserted = await tx.insertInto('images').values(row).returningAll().executeTakeFirstOrThrow();
    if (tags.length > 0) await tx.insertInto('image_tags').values(tags.map((tag) => ({ image_id: row.id, tag }))).execute();
    return inserted;
  });
}

/** Whether an image with this id was ever created (deleted ones included: Glance never reuses an id). */
export async function imageIdTaken(db: Db, id: string): Promise<boolean> {
  return (await db.selectFrom('images').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;
}

export async function getImage(db: Db, id: string): Promise<ImageRow | undefined> {
  return db.selectFrom('images').selectAll().where('id', '=', id).where('deleted', '=', 0).executeTakeFirst();
}

/**
 * The one guarded UPDATE for images: applies `set` only while the image is not deleted and
 * (when given) its status is one of `expectedStatus`. Returns the new row, or undefined when
 * another writer got there first (an upload racing a delete, two uploads, ...).
 */
export async function updateImage(
  db: Db,
  id: string,
  expectedStatus: readonly string[] | undefined,
  set: ImageUpdate,
): Promise<ImageRow | undefined> {
  let q = db
    .updateTable('images')
    .set({ ...set, updated_at: now() })
    .where('id', '=', id)
    .where('deleted', '=', 0);
  if (expectedStatus !== undefined) q = q.where('status', 'in', [...expectedStatus]);
  return q.returningAll().executeTakeFirst();
}

/** Soft-deletes the image and drops its tags and members; returns the row as it was, for its location. */
export async function deleteImage(db: Db, id: string): Promise<ImageRow | undefined> {
  return db.transaction().execute(async (tx) => {
    const row = await tx
      .updateTable('images')
      .set({ deleted: 1, status: 'deleted', updated_at: now() })
      .where('id', '=', id)
      .where('deleted', '=', 0)
      .returningAll()
      .executeTakeFirst();
    if (row) {
      await tx.deleteFrom('image_tags').where('image_id', '=', id).execute();
      await tx.deleteFrom('image_members').where('image_id', '=', id).execute();
    }
    return row;
  });
}

// ---- tags

/** Tags of several images at once (one query for a whole list page), each sorted. */
export async function imageTags(db: Db, ids: readonly string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>(ids.map((id) => [id, []]));
  if (ids.length === 0) return out;
  const rows = await db.selectFrom('image_tags').select(['image_id', 'tag']).where('image_id', 'in', [...ids]).orderBy('tag').execute();
  for (const r of rows) out.get(r.image_id)?.push(r.tag);
  return out;
}

/** Two statements: call it inside the transaction that changes the image row. */
export async function replaceImageTags(db: Db, id: string, tags: readonly string[]): Promise<void> {
  await db.deleteFrom('image_tags').where('image_id', '=', id).execute();
  if (tags.length > 0) await db.insertInto('image_tags').values(tags.map((tag) => ({ image_id: id, tag }))).execute();
}

export async function addImageTag(db: Db, id: string, tag: string): Promise<void> {
  await db
    .insertInto('image_tags')
    .values({ image_id: id, tag })
    .onConflict((oc) => oc.columns(['image_id', 'tag']).doNothing())
    .execute();
}

/** Returns whether the tag was there. */
export async function removeImageTag(db: Db, id: string, tag: string): Promise<boolean> {
  const r = await db.deleteFrom('image_tags').where('image_id', '=', id).where('tag', '=', tag).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

// ---- members

export interface ImageMemberRecord {
  readonly image_id: string;
  readonly member_id: string;
  readonly status: string;
  readonly created_at: string;
  readonly updated_at: string;
}

export async function memberStatus(db: Db, imageId: string, projectId: string): Promise<string | undefined> {
  const m = await getImageMember(db, imageId, projectId);
  return m?.status;
}

export async function getImageMember(db: Db, imageId: string, memberId: string): Promise<ImageMemberRecord | undefined> {
  return db.selectFrom('image_members').selectAll().where('image_id', '=', imageId).where('member_id', '=', memberId).executeTakeFirst();
}

export async function listImageMembers(db: Db, imageId: string): Promise<ImageMemberRecord[]> {
  return db.selectFrom('image_members').selectAll().where('image_id', '=', imageId).orderBy('created_at').orderBy('member_id').execute();
}

/** Adds a pending member; undefined when the project is a member already. */
export async function addImageMember(db: Db, imageId: string, memberId: string): Promise<ImageMemberRecord | undefined> {
  const t = now();
  const row = { image_id: imageId, member_id: memberId, status: 'pending', created_at: t, updated_at: t };
  const r = await db
    .insertInto('image_members')
    .values(row)
    .onConflict((oc) => oc.columns(['image_id', 'member_id']).doNothing())
    .returningAll()
    .executeTakeFirst();
  return r;
}

export async function setImageMemberStatus(db: Db, imageId: string, memberId: string, status: string): Promise<ImageMemberRecord | undefined> {
  return db
    .updateTable('image_members')
    .set({ status, updated_at: now() })
    .where('image_id', '=', imageId)
    .where('member_id', '=', memberId)
    .returningAll()
    .executeTakeFirst();
}

export async function deleteImageMember(db: Db, imageId: string, memberId: string): Promise<boolean> {
  const r = await db.deleteFrom('image_members').where('image_id', '=', imageId).where('member_id', '=', memberId).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

// ---- list

export const IMAGE_SORT_KEYS = [
  'name',
  'status',
  'container_format',
  'disk_format',
  'size',
  'virtual_size',
  'id',
  'created_at',
  'updated_at',
  'visibility',
  'owner',
  'min_disk',
  'min_ram',
] as const;
export type ImageSortKey = (typeof IMAGE_SORT_KEYS)[number];

export const IMAGE_FILTER_COLUMNS = [
  'id',
  'name',
  'status',
  'owner',
  'disk_format',
  'container_format',
  'size',
  'protected',
  'created_at',
  'updated_at',
] as const;
export type ImageFilterColumn = (typeof IMAGE_FILTER_COLUMNS)[number];

export type FilterOp = 'eq' | 'neq' | 'gt' | 'gte' | 'lt' | 'lte' | 'in';

export interface ImageFilter {
  readonly column: ImageFilterColumn;
  readonly op: FilterOp;
  readonly value: string | number | readonly (string | number)[];
}

export interface ImageListQuery {
  /** Who lists: non-admins see their own images, public ones and those shared with them. */
  readonly viewer: { readonly projectId: string | null; readonly isAdmin: boolean };
  /** Glance's visibility filter; undefined is Glance's default list (no community images of others). */
  readonly visibility?: 'public' | 'private' | 'shared' | 'community' | 'all';
  /** Which memberships make a shared image appear (Glance default: accepted). */
  readonly memberStatus: 'accepted' | 'pending' | 'rejected' | 'all';
  readonly filters: readonly ImageFilter[];
  /** Every tag must be on the image. */
  readonly tags: readonly string[];
  /** Custom properties that must match exactly. */
  readonly properties: Readonly<Record<string, string>>;
  /** Hidden images appear only when asked for (true); false (default) leaves them out. */
  readonly osHidden: boolean;
  /** Sort keys, the last of which should be unique (`id`) so that pages are stable. */
  readonly sort: readonly { readonly key: ImageSortKey; readonly dir: 'asc' | 'desc' }[];
  /** Start after this image (already checked to be visible). */
  readonly marker?: ImageRow;
  readonly limit: number;
}

const NULLABLE_TEXT: ReadonlySet<string> = new Set(['name', 'container_format', 'disk_format', 'owner']);
const NULLABLE_NUMBER: ReadonlySet<string> = new Set(['size', 'virtual_size']);

type Eb = ExpressionBuilder<Database, 'images'>;

/**
 * One page of images, sorted, after `marker`. Filtering and keyset pagination happen in SQL;
 * custom-property filters (properties are a JSON column) are applied to batches in order.
 * `more` says whether another page exists.
 */
export async function listImages(db: Db, query: ImageListQuery): Promise<{ rows: ImageRow[]; more: boolean }> {
  const wanted = query.limit + 1;
  const propFilters = Object.entries(query.properties);
  const out: ImageRow[] = [];
  let after = query.marker;
  const batch = propFilters.length === 0 ? wanted : Math.max(wanted * 4, 200);
  for (;;) {
    const rows = await listBatch(db, query, after, batch);
    for (const r of rows) {
      if (propFilters.length > 0) {
        const props = imageProperties(r);
        if (!propFilters.every(([k, v]) => props[k] === v)) continue;
      }
      out.push(r);
      if (out.length === wanted) break;
    }
    if (out.length === wanted || rows.length < batch) break;
    after = rows[rows.length - 1];
  }
  return { rows: out.slice(0, query.limit), more: out.length > query.limit };
}

async function listBatch(db: Db, query: ImageListQuery, after: ImageRow | undefined, limit: number): Promise<ImageRow[]> {
  let q = db
    .selectFrom('images')
    .selectAll()
    .where('deleted', '=', 0)
    .where((eb) => visibleClause(eb, query));
  if (!query.osHidden) q = q.where('os_hidden', '=', 0);
  for (const f of query.filters) q = q.where((eb) => filterClause(eb, f));
  for (const tag of query.tags) {
    q = q.where('id', 'in', (eb) => eb.selectFrom('image_tags').select('image_tags.image_id').where('image_tags.tag', '=', tag));
  }
  if (after) {
    const marker = after;
    q = q.where((eb) => keysetClause(eb, query.sort, marker));
  }
  for (const s of query.sort) q = q.orderBy(sortExpr(s.key), s.dir);
  return q.limit(limit).execute();
}

function visibleClause(eb: Eb, query: ImageListQuery): Expression<SqlBool> {
  const { projectId, isAdmin } = query.viewer;
  const vis = query.visibility;
  if (isAdmin) return vis === undefined || vis === 'all' ? eb.lit(true) : eb('visibility', '=', vis);
  const p = projectId ?? '';
  const statuses = query.memberStatus === 'all' ? ['accepted', 'pending', 'rejected'] : [query.memberStatus];
  const sharedWithMe = eb.and([
    eb('visibility', '=', 'shared'),
    eb('id', 'in', eb.selectFrom('image_members').select('image_members.image_id').where('image_members.member_id', '=', p).where('image_members.status', 'in', statuses)),
  ]);
  const mine = eb('owner', '=', p);
  switch (vis) {
    case undefined:
      return eb.or([mine, eb('visibility', '=', 'public'), sharedWithMe]);
    case 'all':
      return eb.or([mine, eb('visibility', 'in', ['public', 'community']), sharedWithMe]);
    case 'public':
    case 'community':
      return eb('visibility', '=', vis);
    case 'private':
      return eb.and([eb('visibility', '=', 'private'), mine]);
    case 'shared':
      return eb.or([eb.and([eb('visibility', '=', 'shared'), mine]), sharedWithMe]);
  }
  return eb.lit(false);
}

const SQL_OP = { eq: '=', neq: '<>', gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;

function filterClause(eb: Eb, f: ImageFilter): Expression<SqlBool> {
  if (f.op === 'in') {
    const values = Array.isArray(f.value) ? [...(f.value as readonly (string | number)[])] : [f.value as string | number];
    return eb(f.column, 'in', values);
  }
  if (f.value === null || Array.isArray(f.value)) return eb.lit(false);
  return eb(f.column, SQL_OP[f.op], f.value as string | number);
}

/**
 * Nullable sort columns are compared through coalesce so that NULLs sort the same way on
 * SQLite (NULLs first) and PostgreSQL (NULLs last), and the keyset comparison sees them.
 */
function sortExpr(key: ImageSortKey): Expression<string | number> {
  if (NULLABLE_TEXT.has(key)) return sql<string>`coalesce(${sql.ref(key)}, '')`;
  if (NULLABLE_NUMBER.has(key)) return sql<number>`coalesce(${sql.ref(key)}, -1)`;
  return sql<string | number>`${sql.ref(key)}`;
}

function sortValue(row: ImageRow, key: ImageSortKey): string | number {
  const v = row[key];
  if (v === null) return NULLABLE_NUMBER.has(key) ? -1 : '';
  return v;
}

/** Rows strictly after the marker in the sort order: (k1 > m1) or (k1 = m1 and k2 > m2) or ... */
function keysetClause(eb: Eb, sort: ImageListQuery['sort'], marker: ImageRow): Expression<SqlBool> {
  const ors: Expression<SqlBool>[] = [];
  for (let i = 0; i < sort.length; i++) {
    const ands: Expression<SqlBool>[] = [];
    for (let j = 0; j < i; j++) {
      const s = sort[j];
      if (s) ands.push(eb(sortExpr(s.key), '=', sortValue(marker, s.key)));
    }
    const s = sort[i];
    if (!s) continue;
    ands.push(eb(sortExpr(s.key), s.dir === 'asc' ? '>' : '<', sortValue(marker, s.key)));
    ors.push(eb.and(ands));
  }
  return eb.or(ors);
}
