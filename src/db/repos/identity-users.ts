import type { Db } from '../database.js';
import type { Bool, UserRow } from '../schema.js';
import { isUniqueViolation, type InsertResult } from './identity-common.js';

export interface NewUser {
  readonly id: string;
  readonly name: string;
  readonly domainId: string;
  readonly passwordHash: string;
  readonly defaultProjectId: string | null;
  readonly email: string | null;
  readonly description: string | null;
  readonly enabled: boolean;
  readonly createdAt: string;
  /** JSON object of Keystone's extra attributes. */
  readonly extra?: string;
}

export interface UserFilter {
  readonly name?: string;
  readonly domainId?: string;
  readonly enabled?: boolean;
}

export interface UserPatch {
  readonly name?: string;
  readonly passwordHash?: string;
  readonly defaultProjectId?: string | null;
  readonly email?: string | null;
  readonly description?: string | null;
  readonly enabled?: boolean;
  /** The whole new JSON object of extra attributes (already merged with the stored one). */
  readonly extra?: string;
}

const bit = (b: boolean): Bool => (b ? 1 : 0);

export async function insertUser(db: Db, u: NewUser): Promise<InsertResult<UserRow>> {
  const row: UserRow = {
    id: u.id,
    name: u.name,
    domain_id: u.domainId,
    password_hash: u.passwordHash,
    default_project_id: u.defaultProjectId,
    email: u.email,
    description: u.description,
    enabled: bit(u.enabled),
    created_at: u.createdAt,
    extra: u.extra ?? '{}',
  };
  try {
    await db.insertInto('users').values(row).execute();
    return { ok: true, row };
  } catch (err) {
    if (isUniqueViolation(err)) return { ok: false, reason: 'duplicate' };
    throw err;
  }
}

export async function getUser(db: Db, id: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function getUserByName(db: Db, name: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
}

export async function listUsers(db: Db, f: UserFilter = {}): Promise<UserRow[]> {
  let q = db.selectFrom('users').selectAll();
  if (f.name !== undefined) q = q.where('name', '=', f.name);
  if (f.domainId !== undefined) q = q.where('domain_id', '=', f.domainId);
  if (f.enabled !== undefined) q = q.where('enabled', '=', bit(f.enabled));
  return q.orderBy('name').orderBy('id').execute();
}

/**
 * Changes a user. A new password or disabling the user revokes every token the user holds,
 * in the same transaction, as Keystone does. Returns undefined if there is no such user.
 */
export async function updateUser(db: Db, id: string, patch: UserPatch): Promise<UserRow | 'duplicate' | undefined> {
  const values: {
    name?: string;
    password_hash?: string;
    default_project_id?: string | null;
    email?: string | null;
    description?: string | null;
    enabled?: Bool;
    extra?: string;
  } = {};
  if (patch.name !== undefined) values.name = patch.name;
  if (patch.passwordHash !== undefined) values.password_hash = patch.passwordHash;
  if (patch.defaultProjectId !== undefined) values.default_project_id = patch.defaultProjectId;
  if (patch.email !== undefined) values.email = patch.email;
  if (patch.description !== undefined) values.description = patch.description;
  if (patch.enabled !== undefined) values.enabled = bit(patch.enabled);
  if (patch.extra !== undefined) values.extra = patch.extra;
  try {
    await db.transaction().execute(async (trx) => {
      if (Object.keys(values).length > 0) await trx.updateTable('users').set(values).where('id', '=', id).execute();
      if (patch.passwordHash !== undefined || patch.enabled === false) {
        await trx.updateTable('tokens').set({ revoked: 1 }).where('user_id', '=', id).execute();
      }
    });
  } catch (err) {
    if (isUniqueViolation(err)) return 'duplicate';
    throw err;
  }
  return getUser(db, id);
}

/** Deletes a user with its role assignments and tokens. */
export async function deleteUser(db: Db, id: string): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    await trx.deleteFrom('role_assignments').where('user_id', '=', id).execute();
    await trx.deleteFrom('tokens').where('user_id', '=', id).execute();
    const r = await trx.deleteFrom('users').where('id', '=', id).executeTakeFirst();
    return r.numDeletedRows > 0n;
  });
}
