import type { FastifyInstance } from 'fastify';
import { ROLES } from '../../api/context.js';
import { deleteRole, getRole, insertRole, listRoles, rolesByNames, type RoleRow } from '../../db/repos/identity-roles.js';
import { ConflictError, ForbiddenError, NotFoundError } from '../../errors.js';
import type { IdentityEnv } from '../deps.js';
import { IMPLIED_ROLES } from '../implied-roles.js';
import { invalidField, objectAt, onlyFields, requiredObject, requiredString } from '../input.js';
import { adminOnly } from '../policy.js';
import { newId } from '../secrets.js';
import { listLinks, roleView, type View } from '../views.js';
import { caller, param, query } from './request.js';

const NAME = { min: 1, max: 255 };

/** `/v3/roles` and the fixed role inferences (admin ⇒ member ⇒ reader). Admin only. */
export function roleRoutes(app: FastifyInstance, env: IdentityEnv): void {
  app.get('/v3/roles', async (req) => {
    adminOnly(caller(req), 'list_roles');
    const rows = await listRoles(env.db, query(req, 'name'));
    return { roles: rows.map((r) => roleView(r, env.v3Url())), links: listLinks(`${env.v3Url()}/roles`) };
  });

  app.post('/v3/roles', async (req, reply) => {
    adminOnly(caller(req), 'create_role');
    const body = requiredObject(objectAt(req.body, 'body'), 'role', '');
    onlyFields(body, 'role', ['name', 'domain_id', 'description', 'options']);
    const name = requiredString(body, 'name', 'role', NAME);
    if (body['domain_id'] !== undefined && body['domain_id'] !== null) throw invalidField('role/domain_id', 'domain-specific roles are not supported.');
    if (body['description'] !== undefined && body['description'] !== null) throw invalidField('role/description', 'role descriptions are not supported.');
    const options = body['options'] === undefined ? undefined : objectAt(body['options'], 'role/options');
    if (options !== undefined && Object.keys(options).length > 0) throw invalidField('role/options', 'role options are not supported.');
    const result = await insertRole(env.db, { id: newId(), name });
    if (!result.ok) throw new ConflictError(`Conflict occurred attempting to store role - Duplicate entry found with name ${name}.`);
    req.log.info({ role_id: result.row.id, name }, 'role created');
    return reply.status(201).send({ role: roleView(result.row, env.v3Url()) });
  });

  app.get('/v3/roles/:role_id', async (req) => {
    adminOnly(caller(req), 'get_role');
    const id = param(req, 'role_id');
    const r = await getRole(env.db, id);
    if (!r) throw new NotFoundError('Role', id);
    return { role: roleView(r, env.v3Url()) };
  });

  app.delete('/v3/roles/:role_id', async (req, reply) => {
    adminOnly(caller(req), 'delete_role');
    const id = param(req, 'role_id');
    const r = await getRole(env.db, id);
    if (!r) throw new NotFoundError('Role', id);
    // Every policy of every API is written against these three; deleting one would lock admins out.
    if ((ROLES as readonly string[]).includes(r.name)) throw new ForbiddenError(`The built-in role ${r.name} cannot be deleted.`);
    await deleteRole(env.db, id);
    env.revoked();
    req.log.info({ role_id: id, name: r.name }, 'role deleted');
    return reply.status(204).send();
  });

  app.get('/v3/role_inferences', async (req) => {
    adminOnly(caller(req), 'list_role_inference_rules');
    const byName = await namedRoles(env);
    const inferences = Object.entries(IMPLIED_ROLES).flatMap(([prior, implies]) => {
      const p = byName.get(prior);
      const targets = implies.map((n) => byName.get(n)).filter((r): r is RoleRow => r !== undefined);
      return p && targets.length > 0 ? [{ prior_role: ref(p, env), implies: targets.map((t) => ref(t, env)) }] : [];
    });
    return { role_inferences: inferences, links: listLinks(`${env.v3Url()}/role_inferences`) };
  });

  app.get('/v3/roles/:role_id/implies', async (req) => {
    adminOnly(caller(req), 'list_implied_roles');
    const id = param(req, 'role_id');
    const prior = await getRole(env.db, id);
    if (!prior) throw new NotFoundError('Role', id);
    const implies = await rolesByNames(env.db, IMPLIED_ROLES[prior.name] ?? []);
    return { role_inference: { prior_role: ref(prior, env), implies: implies.map((r) => ref(r, env)) }, links: { self: `${env.v3Url()}/roles/${id}/implies` } };
  });
}

async function namedRoles(env: IdentityEnv): Promise<Map<string, RoleRow>> {
  return new Map((await rolesByNames(env.db, [...ROLES])).map((r) => [r.name, r]));
}

function ref(r: RoleRow, env: IdentityEnv): View {
  return { id: r.id, name: r.name, links: { self: `${env.v3Url()}/roles/${r.id}` } };
}
