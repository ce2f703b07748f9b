import type { FastifyInstance } from 'fastify';
import { getProject, listProjectsOfUser } from '../../db/repos/identity-projects.js';
import { deleteUser, getUser, insertUser, listUsers, updateUser, type UserPatch } from '../../db/repos/identity-users.js';
import { ConflictError, NotFoundError, UnauthorizedError } from '../../errors.js';
import type { IdentityEnv } from '../deps.js';
import { DEFAULT_DOMAIN } from '../domains.js';
import { checkSameId, extrasOf, mergeExtras, parseExtras, serializeExtras } from '../extras.js';
import {
  invalidField,
  objectAt,
  onlyFields,
  optionalBoolean,
  optionalNullableString,
  optionalString,
  queryBoolean,
  requiredObject,
  requiredString,
  type JsonObject,
} from '../input.js';
import { burnPasswordCheck, hashPassword, verifyPassword } from '../passwords.js';
import { adminOnly, selfOrAdmin } from '../policy.js';
import { newId } from '../secrets.js';
import { listLinks, projectView, userView } from '../views.js';
import { caller, param, query } from './request.js';

const NAME = { min: 1, max: 255 };
const PASSWORD = { max: 4096 };
const TEXT = { max: 65535 };
const FIELDS = ['name', 'password', 'domain_id', 'default_project_id', 'email', 'description', 'enabled', 'options'];
/** Stored for a user created without a password: matches no password (not a valid scrypt hash). */
const NO_PASSWORD = '!';

/** `/v3/users`: admin-managed; a user may read itself, list its projects and change its password. */
export function userRoutes(app: FastifyInstance, env: IdentityEnv): void {
  app.get('/v3/users', async (req) => {
    adminOnly(caller(req), 'list_users');
    const name = query(req, 'name');
    const domainId = query(req, 'domain_id');
    const enabled = queryBoolean(query(req, 'enabled'), 'enabled');
    const rows = await listUsers(env.db, { ...(name !== undefined && { name }), ...(domainId !== undefined && { domainId }), ...(enabled !== undefined && { enabled }) });
    return { users: rows.map((u) => userView(u, env.v3Url())), links: listLinks(`${env.v3Url()}/users`) };
  });

  app.post('/v3/users', async (req, reply) => {
    adminOnly(caller(req), 'create_user');
    const body = requiredObject(objectAt(req.body, 'body'), 'user', '');
    const extra = serializeExtras(extrasOf(body, FIELDS, 'user'), 'user');
    const name = requiredString(body, 'name', 'user', NAME);
    const password = optionalNullableString(body, 'password', 'user', PASSWORD);
    const defaultProjectId = optionalNullableString(body, 'default_project_id', 'user', NAME) ?? null;
    const email = optionalNullableString(body, 'email', 'user', TEXT) ?? null;
    const description = optionalNullableString(body, 'description', 'user', TEXT) ?? null;
    const enabled = optionalBoolean(body, 'enabled', 'user') ?? true;
    // Keystone answers a create in a domain that does not exist with 404 (a PATCH that
    // moves a user to another domain stays a 400 below).
    const domainId = optionalString(body, 'domain_id', 'user');
    if (domainId !== undefined && domainId !== DEFAULT_DOMAIN.id) throw new NotFoundError('Domain', domainId);
    checkDomainAndOptions(body);
    if (defaultProjectId !== null && !(await getProject(env.db, defaultProjectId))) throw new NotFoundError('Project', defaultProjectId);
    const passwordHash = password === null || password === undefined ? NO_PASSWORD : await hashPassword(password);
    const result = await insertUser(env.db, {
      id: newId(),
      name,
      domainId: DEFAULT_DOMAIN.id,
      passwordHash,
      defaultProjectId,
      email,
      description,
      enabled,
      createdAt: new Date(env.clock()).toISOString(),
      extra,
    });
    if (!result.ok) throw duplicate(name);
    req.log.info({ user_id: result.row.id, name }, 'user created');
    return reply.status(201).send({ user: userView(result.row, env.v3Url()) });
  });

  app.get('/v3/users/:user_id', async (req) => {
    const id = param(req, 'user_id');
    selfOrAdmin(caller(req), id, 'get_user');
    const u = await getUser(env.db, id);
    if (!u) throw new NotFoundError('User', id);
    return { user: userView(u, env.v3Url()) };
  });

  app.patch('/v3/users/:user_id', async (req) => {
    adminOnly(caller(req), 'update_user');
    const id = param(req, 'user_id');
    const body = requiredObject(objectAt(req.body, 'body'), 'user', '');
    const extras = extrasOf(body, FIELDS, 'user');
    checkSameId(body, id, 'user');
    const patch = await parsePatch(env, body);
    const before = await getUser(env.db, id);
    if (!before) throw new NotFoundError('User', id);
    const extra = Object.keys(extras).length > 0 ? serializeExtras(mergeExtras(parseExtras(before.extra), extras), 'user') : undefined;
    const updated = await updateUser(env.db, id, { ...patch, ...(extra !== undefined && { extra }) });
    if (updated === 'duplicate') throw duplicate(patch.name ?? '');
    if (!updated) throw new NotFoundError('User', id);
    if (patch.passwordHash !== undefined || patch.enabled === false) env.revoked();
    req.log.info({ user_id: id, enabled: updated.enabled === 1, password_changed: patch.passwordHash !== undefined }, 'user updated');
    return { user: userView(updated, env.v3Url()) };
  });

  app.delete('/v3/users/:user_id', async (req, reply) => {
    adminOnly(caller(req), 'delete_user');
    const id = param(req, 'user_id');
    if (!(await deleteUser(env.db, id))) throw new NotFoundError('User', id);
    env.revoked();
    req.log.info({ user_id: id }, 'user deleted');
    return reply.status(204).send();
  });

  app.get('/v3/users/:user_id/projects', async (req) => {
    const id = param(req, 'user_id');
    selfOrAdmin(caller(req), id, 'list_user_projects');
    if (!(await getUser(env.db, id))) throw new NotFoundError('User', id);
    const rows = await listProjectsOfUser(env.db, id);
    return { projects: rows.map((p) => projectView(p, env.v3Url())), links: listLinks(`${env.v3Url()}/users/${id}/projects`) };
  });

  // Polyvisor has no groups; the CLI asks for a user's groups in some listings.
  app.get('/v3/users/:user_id/groups', async (req) => {
    const id = param(req, 'user_id');
    selfOrAdmin(caller(req), id, 'list_groups_for_user');
    if (!(await getUser(env.db, id))) throw new NotFoundError('User', id);
    return { groups: [], links: listLinks(`${env.v3Url()}/users/${id}/groups`) };
  });

  // As in Keystone, no token is needed: the original password is the proof (it may have expired).
  app.post('/v3/users/:user_id/password', { config: { public: true } }, async (req, reply) => {
    const id = param(req, 'user_id');
    const body = requiredObject(objectAt(req.body, 'body'), 'user', '');
    onlyFields(body, 'user', ['password', 'original_password']);
    const original = requiredString(body, 'original_password', 'user', PASSWORD);
    const password = requiredString(body, 'password', 'user', { min: 1, max: PASSWORD.max });
    const user = await getUser(env.db, id);
    if (!user) {
      await burnPasswordCheck(original);
      throw new UnauthorizedError();
    }
    if (!(await verifyPassword(original, user.password_hash)) || user.enabled !== 1) {
      req.log.warn({ user_id: id }, 'password change refused: original password wrong or user disabled');
      throw new UnauthorizedError();
    }
    await updateUser(env.db, id, { passwordHash: await hashPassword(password) });
    env.revoked();
    req.log.info({ user_id: id }, 'password changed by the user');
    return reply.status(204).send();
  });
}

async function parsePatch(env: IdentityEnv, body: JsonObject): Promise<UserPatch> {
  const name = optionalString(body, 'name', 'user', NAME);
  const password = optionalNullableString(body, 'password', 'user', PASSWORD);
  const defaultProjectId = optionalNullableString(body, 'default_project_id', 'user', NAME);
  const email = optionalNullableString(body, 'email', 'user', TEXT);
  const description = optionalNullableString(body, 'description', 'user', TEXT);
  const enabled = optionalBoolean(body, 'enabled', 'user');
  checkDomainAndOptions(body);
  if (typeof defaultProjectId === 'string' && !(await getProject(env.db, defaultProjectId))) throw new NotFoundError('Project', defaultProjectId);
  return {
    ...(name !== undefined && { name }),
    ...(password !== undefined && { passwordHash: password === null ? NO_PASSWORD : await hashPassword(password) }),
    ...(defaultProjectId !== undefined && { defaultProjectId }),
    ...(email !== undefined && { email }),
    ...(description !== undefined && { description }),
    ...(enabled !== undefined && { enabled }),
  };
}

function checkDomainAndOptions(body: JsonObject): void {
  const domainId = optionalString(body, 'domain_id', 'user');
  if (domainId !== undefined && domainId !== DEFAULT_DOMAIN.id) throw invalidField('user/domain_id', `only the '${DEFAULT_DOMAIN.id}' domain exists.`);
  const options = body['options'] === undefined ? undefined : objectAt(body['options'], 'user/options');
  if (options !== undefined && Object.keys(options).length > 0) throw invalidField('user/options', 'user options are not supported.');
}

function duplicate(name: string): ConflictError {
  return new ConflictError(`Conflict occurred attempting to store user - Duplicate entry found with name ${name} at domain ID ${DEFAULT_DOMAIN.id}.`);
}
