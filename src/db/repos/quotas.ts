import { sql } from 'kysely';
import type { Db } from '../database.js';
import type { DialectName } from '../dialect.js';

/**
 * Project quotas: defaults come from [quota] in the configuration, per-project
 * overrides from the `quotas` table, usage is counted from the live rows (Nova's
 * "counting quotas": nothing to drift out of sync).
 */
export const QUOTA_RESOURCES = [
  'instances',
  'cores',
  'ram',
  'metadata_items',
  'key_pairs',
  'injected_files',
  'injected_file_content_bytes',
  'injected_file_path_bytes',
  'server_groups',
  'server_group_members',
  // Proxied to the network service in Nova; kept at 2.1 for compatibility, never enforced here.
  'fixed_ips',
  'floating_ips',
  'security_groups',
  'security_group_rules',
] as const;
export type QuotaResource = (typeof QUOTA_RESOURCES)[number];
export type QuotaLimits = Record<QuotaResource, number>;

/** The [quota] options that give the defaults; fixed_ips etc. have Nova's fixed defaults. */
export interface QuotaDefaultsSource {
  readonly instances: number;
  readonly cores: number;
  readonly ram: number;
  readonly metadata_items: number;
  readonly key_pairs: number;
  readonly injected_files: number;
  readonly injected_file_content_bytes: number;
  readonly injected_file_path_length: number;
  readonly server_groups: number;
  readonly server_group_members: number;
}

export function defaultQuotas(q: QuotaDefaultsSource): QuotaLimits {
  return {
    instances: q.instances,
    cores: q.cores,
    ram: q.ram,
    metadata_items: q.metadata_items,
    key_pairs: q.key_pairs,
    injected_files: q.injected_files,
    injected_file_content_bytes: q.injected_file_content_bytes,
    injected_file_path_bytes: q.injected_file_path_length,
    server_groups: q.server_groups,
    server_group_members: q.server_group_members,
    fixed_ips: -1,
    floating_ips: 10,
    security_groups: 10,
    security_group_rules: 20,
  };
}

function isResource(name: string): name is QuotaResource {
  return (QUOTA_RESOURCES as readonly string[]).includes(name);
}

/** Defaults overlaid with the project's stored limits. */
export async function projectQuotas(db: Db, defaults: QuotaLimits, projectId: string): Promise<QuotaLimits> {
  const rows = await db.selectFrom('quotas').select(['resource', 'hard_limit']).where('project_id', '=', projectId).execute();
  const out = { ...defaults };
  for (const r of rows) if (isResource(r.resource)) out[r.resource] = r.hard_limit;
  return out;
}

export async function setProjectQuotas(db: Db, projectId: string, limits: Partial<QuotaLimits>): Promise<void> {
  const entries = Object.entries(limits).filter((e): e is [QuotaResource, number] => isResource(e[0]) && typeof e[1] === 'number');
  if (entries.length === 0) return;
  await db.transaction().execute(async (trx) => {
    for (const [resource, hard_limit] of entries) {
      await trx
        .insertInto('quotas')
        .values({ project_id: projectId, resource, hard_limit })
        .onConflict((oc) => oc.columns(['project_id', 'resource']).doUpdateSet({ hard_limit }))
        .execute();
    }
  });
}

/** Back to the defaults. */
export async function deleteProjectQuotas(db: Db, projectId: string): Promise<void> {
  await db.deleteFrom('quotas').where('project_id', '=', projectId).execute();
}

export interface ComputeUsage {
  readonly instances: number;
  readonly cores: number;
  readonly ram: number;
}

/**
 * Live servers of a project (of one user in it, for per-user quotas, when `userId` is given)
 * and the vCPUs and RAM of their flavor snapshots.
 */
export async function computeUsage(db: Db, dialect: DialectName, projectId: string, userId?: string): Promise<ComputeUsage> {
  const vcpus = dialect === 'postgres' ? sql<number>`(flavor::json->>'vcpus')::int` : sql<number>`json_extract(flavor, '$.vcpus')`;
  const ram = dialect === 'postgres' ? sql<number>`(flavor::json->>'memory_mb')::int` : sql<number>`json_extract(flavor, '$.memory_mb')`;
  let q = db
    .selectFrom('instances')
    .select((eb) => [
      eb.fn.countAll<number | string>().as('n'),
      eb.fn.coalesce(eb.fn.sum<number | string | null>(vcpus), sql<number>`0`).as('cores'),
      eb.fn.coalesce(eb.fn.sum<number | string | null>(ram), sql<number>`0`).as('ram'),
    ])
    .where('project_id', '=', projectId)
    .where('deleted', '=', 0);
  if (userId !== undefined) q = q.where('user_id', '=', userId);
  const row = await q.executeTakeFirstOrThrow();
  return { instances: Number(row.n), cores: Number(row.cores), ram: Number(row.ram) };
}

export async function keypairCount(db: Db, userId: string): Promise<number> {
  const row = await db
    .selectFrom('keypairs')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('user_id', '=', userId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Serializes quota-checked writes for one scope (a project or a user) until the
 * transaction ends. SQLite transactions already run one at a time on our single
 * connection; PostgreSQL takes a transaction-scoped advisory lock on the scope.
 */
export async function lockQuotaScope(trx: Db, dialect: DialectName, scope: string): Promise<void> {
  if (dialect === 'postgres') await sql`SELECT pg_advisory_xact_lock(hashtext(${scope}))`.execute(trx);
}

/** A quota class's limits: `base` overlaid with the class's stored rows (os-quota-class-sets). */
export async function classQuotas(db: Db, base: QuotaLimits, className: string): Promise<QuotaLimits> {
  const rows = await db.selectFrom('quota_classes').select(['resource', 'hard_limit']).where('class_name', '=', className).execute();
  const out = { ...base };
  for (const r of rows) if (isResource(r.resource)) out[r.resource] = r.hard_limit;
  return out;
}

export async function setClassQuotas(db: Db, className: string, limits: Partial<QuotaLimits>): Promise<void> {
  const entries = Object.entries(limits).filter((e): e is [QuotaResource, number] => isResource(e[0]) && typeof e[1] === 'number');
  await db.transaction().execute(async (trx) => {
    for (const [resource, hard_limit] of entries) {
      await trx
        .insertInto('quota_classes')
        .values({ class_name: className, resource, hard_limit })
        .onConflict((oc) => oc.columns(['class_name', 'resource']).doUpdateSet({ hard_limit }))
        .execute();
    }
  });
}

/** The user's overrides inside a project (os-quota-sets?user_id=); empty when none are set. */
export async function userQuotaOverrides(db: Db, projectId: string, userId: string): Promise<Partial<QuotaLimits>> {
  const rows = await db.selectFrom('user_quotas').select(['resource', 'hard_limit']).where('project_id', '=', projectId).where('user_id', '=', userId).execute();
  const out: Partial<QuotaLimits> = {};
  for (const r of rows) if (isResource(r.resource)) out[r.resource] = r.hard_limit;
  return out;
}

export async function setUserQuotas(db: Db, projectId: string, userId: string, limits: Partial<QuotaLimits>): Promise<void> {
  const entries = Object.entries(limits).filter((e): e is [QuotaResource, number] => isResource(e[0]) && typeof e[1] === 'number');
  await db.transaction().execute(async (trx) => {
    for (const [resource, hard_limit] of entries) {
      await trx
        .insertInto('user_quotas')
        .values({ project_id: projectId, user_id: userId, resource, hard_limit })
        .onConflict((oc) => oc.columns(['project_id', 'user_id', 'resource']).doUpdateSet({ hard_limit }))
        .execute();
    }
  });
}

export async function deleteUserQuotas(db: Db, projectId: string, userId: string): Promise<void> {
  await db.deleteFrom('user_quotas').where('project_id', '=', projectId).where('user_id', '=', userId).execute();
}

/** computeUsage restricted to one user's servers in the project (per-user quotas). */
export function userComputeUsage(db: Db, dialect: DialectName, projectId: string, userId: string): Promise<ComputeUsage> {
  return computeUsage(db, dialect, projectId, userId);
}
