import { ROLES } from '../api/context.js';
import type { Db } from '../db/database.js';
import { getProjectByName, insertProject } from '../db/repos/identity-projects.js';
import { getRoleByName, grantRole, insertRole, type RoleRow } from '../db/repos/identity-roles.js';
import { getUserByName, insertUser, updateUser } from '../db/repos/identity-users.js';
import type { ProjectRow } from '../db/schema.js';
import { ConflictError, InvalidInputError } from '../errors.js';
import { DEFAULT_DOMAIN } from './domains.js';
import { hashPassword, verifyPassword } from './passwords.js';
import { newId } from './secrets.js';

/**
 * Options of `bootstrap`:
 * - adminUsername / adminPassword: the first administrator (created, or its password reset
 *   and the user re-enabled when it exists).
 * - projectName: the admin project (default "admin").
 * - serviceProjectName: a project for service users (default "service").
 */
export interface BootstrapOptions {
  readonly adminUsername: string;
  readonly adminPassword: string;
  readonly projectName?: string;
  readonly serviceProjectName?: string;
}

export interface BootstrapResult {
  readonly userId: string;
  readonly projectId: string;
  readonly roleIds: Readonly<Record<(typeof ROLES)[number], string>>;
}

/**
 * Idempotent set-up of identity, as `keystone-manage bootstrap`: the roles reader, member
 * and admin; the admin and service projects; the admin user with the admin role on the
 * admin project. Running it again changes only the admin's password (revoking its tokens)
 * when a different one is given.
 */
export async function bootstrap(db: Db, options: BootstrapOptions): Promise<BootstrapResult> {
  if (options.adminUsername === '') throw new InvalidInputError('bootstrap: the admin user name must not be empty.');
  if (options.adminPassword === '') throw new InvalidInputError('bootstrap: the admin password must not be empty.');
  const roles = {} as Record<(typeof ROLES)[number], string>;
  for (const name of ROLES) roles[name] = (await ensureRole(db, name)).id;
  const project = await ensureProject(db, options.projectName ?? 'admin', 'Bootstrap project for initializing the cloud.');
  await ensureProject(db, options.serviceProjectName ?? 'service', 'Project for service users.');

  let user = await getUserByName(db, options.adminUsername);
  if (!user) {
    const result = await insertUser(db, {
      id: newId(),
      name: options.adminUsername,
      domainId: DEFAULT_DOMAIN.id,
      passwordHash: await hashPassword(options.adminPassword),
      defaultProjectId: project.id,
      email: null,
      description: null,
      enabled: true,
      createdAt: new Date().toISOString(),
    });
    // Lost a race with another bootstrap: use what it created.
    user = result.ok ? result.row : await getUserByName(db, options.adminUsername);
    if (!user) throw new ConflictError(`bootstrap: user ${options.adminUsername} could not be created.`);
  } else {
    const same = await verifyPassword(options.adminPassword, user.password_hash);
    if (!same || user.enabled !== 1) {
      await updateUser(db, user.id, { ...(same ? {} : { passwordHash: await hashPassword(options.adminPassword) }), enabled: true });
    }
  }
  await grantRole(db, user.id, project.id, roles.admin);
  return { userId: user.id, projectId: project.id, roleIds: roles };
}

async function ensureRole(db: Db, name: string): Promise<RoleRow> {
  const existing = await getRoleByName(db, name);
  if (existing) return existing;
  const created = await insertRole(db, { id: newId(), name });
  if (created.ok) return created.row;
  const raced = await getRoleByName(db, name);
  if (!raced) throw new ConflictError(`bootstrap: role ${name} could not be created.`);
  return raced;
}

async function ensureProject(db: Db, name: string, description: string): Promise<ProjectRow> {
  const existing = await getProjectByName(db, name);
  if (existing) return existing;
  const created = await insertProject(db, { id: newId(), name, description, domainId: DEFAULT_DOMAIN.id, enabled: true, createdAt: new Date().toISOString() });
  if (created.ok) return created.row;
  const raced = await getProjectByName(db, name);
  if (!raced) throw new ConflictError(`bootstrap: project ${name} could not be created.`);
  return raced;
}
