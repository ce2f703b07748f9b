import type { Selectable } from 'kysely';
import type { Db } from '../database.js';
import type { RoleTable } from '../schema.js';
import { isUniqueViolation, type InsertResult } from './identity-common.js';

export type RoleRow = Selectable<RoleTable>;

/** One role assignment with the names of what it joins (for include_names). */
export interface AssignmentRow {
  readonly user_id: string;
  readonly user_name: string;
  readonly user_domain_id: string;
  readonly project_id: string;
  readonly project_name: string;
  readonly project_domain_id: string;
  readonly role_id: string;
  readonly role_name: string;
}

export interface AssignmentFilter {
  readonly userId?: string;
  readonly projectId?: string;
  readonly roleId?: string;
}

export async function insertRole(db: Db, role: RoleRow): Promise<InsertResult<RoleRow>> {
  try {
    await db.insertInto('roles').values(role).execute();
    return { ok: true, row: role };
  } catch (err) {
    if (isUniqueViolation(err)) return { ok: false, reason: 'duplicate' };
    throw err;
  }
}

export async function getRole(db: Db, id: string): Promise<RoleRow | undefined> {
  return db.selectFrom('roles').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function getRoleByName(db: Db, name: string): Promise<RoleRow | undefined> {
  return db.selectFrom('roles').selectAll().where('name', '=', name).executeTakeFirst();
}

export async function listRoles(db: Db, name?: string): Promise<RoleRow[]> {
  let q = db.selectFrom('roles').selectAll();
  if (name !== undefined) q = q.where('name', '=', name);
  return q.orderBy('name').execute();
}

export async function rolesByNames(db: Db, names: readonly string[]): Promise<RoleRow[]> {
  if (names.length === 0) return [];
  return db.selectFrom('roles').selectAll().where('name', 'in', names).execute();
}

/** Deletes a role and every assignment of it. */
export async function deleteRole(db: Db, id: string): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    await trx.deleteFrom('role_assignments').where('role_id', '=', id).execute();
    const r = await trx.deleteFrom('roles').where('id', '=', id).executeTakeFirst();
    return r.numDeletedRows > 0n;
  });
}

/** Grants a role; granting one that is already there changes nothing (PUT is idempotent). */
export async function grantRole(db: Db, userId: string, projectId: string, roleId: string): Promise<void> {
  await db
    .insertInto('role_assignments')
    .values({ user_id: userId, project_id: projectId, role_id: roleId })
    .onConflict((oc) => oc.columns(['user_id', 'project_id', 'role_id']).doNothing())
    .execute();
}

/** Removes a grant; false if it did not exist. */
export async function revokeRole(db: Db, userId: string, projectId: string, roleId: string): Promise<boolean> {
  const r = await db
    .deleteFrom('role_assignments')
    .where('user_id', '=', userId)
    .where('project_id', '=', projectId)
    .where('role_id', '=', roleId)
    .executeTakeFirst();
  return r.numDeletedRows > 0n;
}

export async function hasGrant(db: Db, userId: string, projectId: string, roleId: string): Promise<boolean> {
  const row = await db
    .selectFrom('role_assignments')
    .select('role_id')
    .where('user_id', '=', userId)
    .where('project_id', '=', projectId)
    .where('role_id', '=', roleId)
    .executeTakeFirst();
  return row !== undefined;
}

/** The roles granted directly to a user on a project. */
export async function directRoles(db: Db, userId: string, projectId: string): Promise<RoleRow[]> {
  return db
    .selectFrom('role_assignments')
    .innerJoin('roles', 'roles.id', 'role_assignments.role_id')
    .select(['roles.id', 'roles.name'])
    .where('role_assignments.user_id', '=', userId)
    .where('role_assignments.project_id', '=', projectId)
    .orderBy('roles.name')
    .execute();
}

export async function listAssignments(db: Db, f: AssignmentFilter = {}): Promise<AssignmentRow[]> {
  let q = db
    .selectFrom('role_assignments as a')
    .innerJoin('users as u', 'u.id', 'a.user_id')
    .innerJoin('projects as p', 'p.id', 'a.project_id')
    .innerJoin('roles as r', 'r.id', 'a.role_id')
    .select([
      'a.user_id',
      'u.name as user_name',
      'u.domain_id as user_domain_id',
      'a.project_id',
      'p.name as project_name',
      'p.domain_id as project_domain_id',
      'a.role_id',
      'r.name as role_name',
    ]);
  if (f.userId !== undefined) q = q.where('a.user_id', '=', f.userId);
  if (f.projectId !== undefined) q = q.where('a.project_id', '=', f.projectId);
  if (f.roleId !== undefined) q = q.where('a.role_id', '=', f.roleId);
  return q.orderBy('a.user_id').orderBy('a.project_id').orderBy('r.name').execute();
}
