import type { Db } from '../database.js';
import type { Bool, ProjectRow } from '../schema.js';
import { isUniqueViolation, type InsertResult } from './identity-common.js';

export interface NewProject {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly domainId: string;
  readonly enabled: boolean;
  readonly createdAt: string;
  /** JSON object of Keystone's extra attributes. */
  readonly extra?: string;
}

export interface ProjectFilter {
  readonly name?: string;
  readonly domainId?: string;
  readonly enabled?: boolean;
}

export interface ProjectPatch {
  readonly name?: string;
  readonly description?: string;
  readonly enabled?: boolean;
  /** The whole new JSON object of extra attributes (already merged with the stored one). */
  readonly extra?: string;
}

const bit = (b: boolean): Bool => (b ? 1 : 0);

export async function insertProject(db: Db, p: NewProject): Promise<InsertResult<ProjectRow>> {
  const row: ProjectRow = {
    id: p.id,
    name: p.name,
    description: p.description,
    domain_id: p.domainId,
    enabled: bit(p.enabled),
    created_at: p.createdAt,
    extra: p.extra ?? '{}',
  };
  try {
    await db.insertInto('projects').values(row).execute();
    return { ok: true, row };
  } catch (err) {
    if (isUniqueViolation(err)) return { ok: false, reason: 'duplicate' };
    throw err;
  }
}

export async function getProject(db: Db, id: string): Promise<ProjectRow | undefined> {
  return db.selectFrom('projects').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function getProjectByName(db: Db, name: string): Promise<ProjectRow | undefined> {
  return db.selectFrom('projects').selectAll().where('name', '=', name).executeTakeFirst();
}

export async function listProjects(db: Db, f: ProjectFilter = {}): Promise<ProjectRow[]> {
  let q = db.selectFrom('projects').selectAll();
  if (f.name !== undefined) q = q.where('name', '=', f.name);
  if (f.domainId !== undefined) q = q.where('domain_id', '=', f.domainId);
  if (f.enabled !== undefined) q = q.where('enabled', '=', bit(f.enabled));
  return q.orderBy('name').orderBy('id').execute();
}

/** Projects on which the user has at least one role (Keystone's /users/{id}/projects). */
export async function listProjectsOfUser(db: Db, userId: string, onlyEnabled = false): Promise<ProjectRow[]> {
  let q = db
    .selectFrom('projects')
    .selectAll()
    .where('id', 'in', db.selectFrom('role_assignments').select('project_id').where('user_id', '=', userId));
  if (onlyEnabled) q = q.where('enabled', '=', 1);
  return q.orderBy('name').orderBy('id').execute();
}

/** Returns the updated row, undefined if there is no such project, or 'duplicate' on a name clash. */
export async function updateProject(db: Db, id: string, patch: ProjectPatch): Promise<ProjectRow | 'duplicate' | undefined> {
  const values: { name?: string; description?: string; enabled?: Bool; extra?: string } = {};
  if (patch.name !== undefined) values.name = patch.name;
  if (patch.description !== undefined) values.description = patch.description;
  if (patch.enabled !== undefined) values.enabled = bit(patch.enabled);
  if (patch.extra !== undefined) values.extra = patch.extra;
  try {
    if (Object.keys(values).length > 0) await db.updateTable('projects').set(values).where('id', '=', id).execute();
  } catch (err) {
    if (isUniqueViolation(err)) return 'duplicate';
    throw err;
  }
  return getProject(db, id);
}

/** Deletes a project with its role assignments and the tokens scoped to it. */
export async function deleteProject(db: Db, id: string): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    await trx.deleteFrom('role_assignments').where('project_id', '=', id).execute();
    await trx.deleteFrom('tokens').where('project_id', '=', id).execute();
    const r = await trx.deleteFrom('projects').where('id', '=', id).executeTakeFirst();
    return r.numDeletedRows > 0n;
  });
}
