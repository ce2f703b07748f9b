import type { FastifyInstance } from 'fastify';
import { getProject } from '../../db/repos/identity-projects.js';
import { directRoles, getRole, grantRole, hasGrant, listAssignments, rolesByNames, revokeRole } from '../../db/repos/identity-roles.js';
import { getUser } from '../../db/repos/identity-users.js';
import { NotFoundError, PolyvisorError } from '../../errors.js';
import type { IdentityEnv } from '../deps.js';
import { impliedNames } from '../implied-roles.js';
import { queryFlag } from '../input.js';
import { adminOnly } from '../policy.js';
import { assignmentView, listLinks, roleView, type View } from '../views.js';
import { caller, param, query } from './request.js';

const GRANT = '/v3/projects/:project_id/users/:user_id/roles/:role_id';

/**
 * Role assignments of users on projects. Admin only: a member of a project cannot grant,
 * check or revoke roles, not even on its own project.
 */
export function assignmentRoutes(app: FastifyInstance, env: IdentityEnv): void {
  app.put(GRANT, async (req, reply) => {
    adminOnly(caller(req), 'create_grant');
    const { projectId, userId, roleId } = await existingParts(env, param(req, 'project_id'), param(req, 'user_id'), param(req, 'role_id'));
    await grantRole(env.db, userId, projectId, roleId);
    req.log.info({ user_id: userId, project_id: projectId, role_id: roleId }, 'role granted');
    return reply.status(204).send();
  });

  // GET, and HEAD which Fastify derives from it: 204 when the grant exists.
  app.get(GRANT, async (req, reply) => {
    adminOnly(caller(req), 'check_grant');
    const { projectId, userId, roleId } = await existingParts(env, param(req, 'project_id'), param(req, 'user_id'), param(req, 'role_id'));
    if (!(await hasGrant(env.db, userId, projectId, roleId))) throw assignmentNotFound(roleId, userId, projectId);
    return reply.status(204).send();
  });

  app.delete(GRANT, async (req, reply) => {
    adminOnly(caller(req), 'revoke_grant');
    const { projectId, userId, roleId } = await existingParts(env, param(req, 'project_id'), param(req, 'user_id'), param(req, 'role_id'));
    if (!(await revokeRole(env.db, userId, projectId, roleId))) throw assignmentNotFound(roleId, userId, projectId);
    // Tokens read roles at validation: drop cached validations so the loss applies at once.
    env.revoked();
    req.log.info({ user_id: userId, project_id: projectId, role_id: roleId }, 'role revoked');
    return reply.status(204).send();
  });

  app.get('/v3/projects/:project_id/users/:user_id/roles', async (req) => {
    adminOnly(caller(req), 'list_grants');
    const projectId = param(req, 'project_id');
    const userId = param(req, 'user_id');
    if (!(await getProject(env.db, projectId))) throw new NotFoundError('Project', projectId);
    if (!(await getUser(env.db, userId))) throw new NotFoundError('User', userId);
    const roles = await directRoles(env.db, userId, projectId);
    return {
      roles: roles.map((r) => roleView(r, env.v3Url())),
      links: listLinks(`${env.v3Url()}/projects/${projectId}/users/${userId}/roles`),
    };
  });

  app.get('/v3/role_assignments', async (req) => {
    adminOnly(caller(req), 'list_role_assignments');
    const self = `${env.v3Url()}/role_assignments`;
    // Groups, domains and the system hold no assignments in Polyvisor.
    if (query(req, 'group.id') !== undefined || query(req, 'scope.domain.id') !== undefined || query(req, 'scope.system') !== undefined) {
      return { role_assignments: [], links: listLinks(self) };
    }
    const userId = query(req, 'user.id');
    const projectId = query(req, 'scope.project.id');
    const roleId = query(req, 'role.id');
    const names = queryFlag(query(req, 'include_names'));
    const effective = queryFlag(query(req, 'effective'));
    const rows = await listAssignments(env.db, { ...(userId !== undefined && { userId }), ...(projectId !== undefined && { projectId }), ...(!effective && roleId !== undefined && { roleId }) });
    const views: View[] = [];
    if (!effective) {
      for (const a of rows) views.push(assignmentView(a, a.role_id, a.role_name, names, env.v3Url()));
    } else {
      // Effective: implied roles appear as assignments of their own, once per user and project.
      const implied = new Map((await rolesByNames(env.db, ['admin', 'member', 'reader'])).map((r) => [r.name, r]));
      const seen = new Set<string>();
      for (const a of rows) {
        const extra = impliedNames([a.role_name]).flatMap((n) => {
          const r = implied.get(n);
          return r ? [r] : [];
        });
        for (const r of [{ id: a.role_id, name: a.role_name }, ...extra]) {
          const key = `${a.user_id} ${a.project_id} ${r.id}`;
          if (seen.has(key) || (roleId !== undefined && r.id !== roleId)) continue;
          seen.add(key);
          views.push(assignmentView(a, r.id, r.name, names, env.v3Url()));
        }
      }
    }
    return { role_assignments: views, links: listLinks(self) };
  });
}

async function existingParts(env: IdentityEnv, projectId: string, userId: string, roleId: string): Promise<{ projectId: string; userId: string; roleId: string }> {
  if (!(await getRole(env.db, roleId))) throw new NotFoundError('Role', roleId);
  if (!(await getProject(env.db, projectId))) throw new NotFoundError('Project', projectId);
  if (!(await getUser(env.db, userId))) throw new NotFoundError('User', userId);
  return { projectId, userId, roleId };
}

function assignmentNotFound(roleId: string, userId: string, projectId: string): PolyvisorError {
  return new PolyvisorError('not_found', `Could not find role assignment with role: ${roleId}, user or group: ${userId}, project, domain, or system: ${projectId}.`);
}
