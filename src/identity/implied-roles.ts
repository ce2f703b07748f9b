import type { Db } from '../db/database.js';
import { directRoles, rolesByNames, type RoleRow } from '../db/repos/identity-roles.js';

/**
 * Keystone's default role hierarchy: admin implies member, member implies reader. A user
 * granted `admin` holds all three in its tokens, so policies can test for the weakest role
 * they need.
 */
export const IMPLIED_ROLES: Readonly<Record<string, readonly string[]>> = {
  admin: ['member'],
  member: ['reader'],
};

/** Names of the roles implied (transitively) by the given ones, excluding those given. */
export function impliedNames(names: readonly string[]): string[] {
  const seen = new Set(names);
  const out: string[] = [];
  const queue = [...names];
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
    for (const implied of IMPLIED_ROLES[name] ?? []) {
      if (seen.has(implied)) continue;
      seen.add(implied);
      out.push(implied);
      queue.push(implied);
    }
  }
  return out;
}

/** The roles a user effectively holds on a project: direct grants plus what they imply. */
export async function effectiveRoles(db: Db, userId: string, projectId: string): Promise<RoleRow[]> {
  const direct = await directRoles(db, userId, projectId);
  const implied = impliedNames(direct.map((r) => r.name));
  if (implied.length === 0) return direct;
  return [...direct, ...(await rolesByNames(db, implied))];
}
