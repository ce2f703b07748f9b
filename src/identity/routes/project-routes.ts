import type { FastifyInstance } from 'fastify';
import { deleteProject, getProject, insertProject, listProjects, updateProject } from '../../db/repos/identity-projects.js';
import { revokeTokensOfProject } from '../../db/repos/identity-tokens.js';
import { ConflictError, NotFoundError } from '../../errors.js';
import type { IdentityEnv } from '../deps.js';
import { DEFAULT_DOMAIN } from '../domains.js';
import { checkSameId, extrasOf, mergeExtras, parseExtras, serializeExtras } from '../extras.js';
import {
  invalidField,
  objectAt,
  optionalBoolean,
  optionalNullableString,
  optionalString,
  optionalStringArray,
  queryBoolean,
  requiredObject,
  requiredString,
  type JsonObject,
} from '../input.js';
import { adminOnly, forbidden } from '../policy.js';
import { newId } from '../secrets.js';
import { listLinks, projectView } from '../views.js';
import { caller, param, query } from './request.js';

/** Keystone's limit on project names. */
const NAME = { min: 1, max: 64 };
const DESCRIPTION = { max: 65535 };
const CREATE_FIELDS = ['name', 'description', 'domain_id', 'enabled', 'is_domain', 'parent_id', 'tags', 'options'];
const UPDATE_FIELDS = ['name', 'description', 'domain_id', 'enabled', 'is_domain', 'parent_id', 'tags', 'options'];

/** `/v3/projects`: admin-managed; a project-scoped token may read its own project. */
export function projectRoutes(app: FastifyInstance, env: IdentityEnv): void {
  app.get('/v3/projects', async (req) => {
    adminOnly(caller(req), 'list_projects');
    const enabled = queryBoolean(query(req, 'enabled'), 'enabled');
    const name = query(req, 'name');
    const domainId = query(req, 'domain_id');
    const isDomain = queryBoolean(query(req, 'is_domain'), 'is_domain');
    const rows = isDomain === true ? [] : await listProjects(env.db, { ...(name !== undefined && { name }), ...(domainId !== undefined && { domainId }), ...(enabled !== undefined && { enabled }) });
    const parentId = query(req, 'parent_id');
    const visible = parentId === undefined ? rows : rows.filter((p) => p.domain_id === parentId);
    return { projects: visible.map((p) => projectView(p, env.v3Url())), links: listLinks(`${env.v3Url()}/projects`) };
  });

  app.post('/v3/projects', async (req, reply) => {
    adminOnly(caller(req), 'create_project');
    const body = requiredObject(objectAt(req.body, 'body'), 'project', '');
    const extra = serializeExtras({ ...extrasOf(body, CREATE_FIELDS, 'project'), ...tagsOf(body) }, 'project');
    const name = requiredString(body, 'name', 'project', NAME);
    const description = optionalNullableString(body, 'description', 'project', DESCRIPTION) ?? '';
    const enabled = optionalBoolean(body, 'enabled', 'project') ?? true;
    checkUnsupported(body);
    const result = await insertProject(env.db, { id: newId(), name, description, domainId: DEFAULT_DOMAIN.id, enabled, createdAt: new Date(env.clock()).toISOString(), extra });
    if (!result.ok) throw duplicate(name);
    req.log.info({ project_id: result.row.id, name }, 'project created');
    return reply.status(201).send({ project: projectView(result.row, env.v3Url()) });
  });

  app.get('/v3/projects/:project_id', async (req) => {
    const ctx = caller(req);
    const id = param(req, 'project_id');
    if (!ctx.isAdmin && ctx.projectId !== id) throw forbidden('get_project');
    const p = await getProject(env.db, id);
    if (!p) throw new NotFoundError('Project', id);
    return { project: projectView(p, env.v3Url()) };
  });

  app.patch('/v3/projects/:project_id', async (req) => {
    adminOnly(caller(req), 'update_project');
    const id = param(req, 'project_id');
    const body = requiredObject(objectAt(req.body, 'body'), 'project', '');
    const extras = { ...extrasOf(body, UPDATE_FIELDS, 'project'), ...tagsOf(body) };
    checkSameId(body, id, 'project');
    const name = optionalString(body, 'name', 'project', NAME);
    const description = optionalNullableString(body, 'description', 'project', DESCRIPTION);
    const enabled = optionalBoolean(body, 'enabled', 'project');
    checkUnsupported(body);
    const before = await getProject(env.db, id);
    if (!before) throw new NotFoundError('Project', id);
    const extra = Object.keys(extras).length > 0 ? serializeExtras(mergeExtras(parseExtras(before.extra), extras), 'project') : undefined;
    const updated = await updateProject(env.db, id, {
      ...(extra !== undefined && { extra }),
      ...(name !== undefined && { name }),
      ...(description !== undefined && { description: description ?? '' }),
      ...(enabled !== undefined && { enabled }),
    });
    if (updated === 'duplicate') throw duplicate(name ?? '');
    if (!updated) throw new NotFoundError('Project', id);
    if (enabled === false) {
      // Keystone revokes a disabled project's tokens: re-enabling it does not revive them.
      await revokeTokensOfProject(env.db, id);
      env.revoked();
    }
    req.log.info({ project_id: id, enabled: updated.enabled === 1 }, 'project updated');
    return { project: projectView(updated, env.v3Url()) };
  });

  app.delete('/v3/projects/:project_id', async (req, reply) => {
    adminOnly(caller(req), 'delete_project');
    const id = param(req, 'project_id');
    if (!(await deleteProject(env.db, id))) throw new NotFoundError('Project', id);
    env.revoked();
    req.log.info({ project_id: id }, 'project deleted');
    return reply.status(204).send();
  });
}

/**
 * Project tags (Keystone's rules: at most 80, each 1-255 characters without '/' or ','),
 * kept with the extra attributes under `tags` since they need no query of their own here.
 */
function tagsOf(body: JsonObject): { tags?: string[] } {
  const tags = optionalStringArray(body, 'tags', 'project');
  if (tags === undefined) return {};
  if (tags.length > 80) throw invalidField('project/tags', 'at most 80 tags.');
  for (const t of tags) {
    if (t.length < 1 || t.length > 255 || t.includes('/') || t.includes(',')) throw invalidField('project/tags', 'each tag is 1 to 255 characters without "/" or ",".');
  }
  return { tags: [...new Set(tags)] };
}

function duplicate(name: string): ConflictError {
  return new ConflictError(`Conflict occurred attempting to store project - Duplicate entry found with name ${name}.`);
}

/** Polyvisor has one domain and no project hierarchy, tags or options: say so rather than drop them. */
function checkUnsupported(body: JsonObject): void {
  const domainId = optionalString(body, 'domain_id', 'project');
  if (domainId !== undefined && domainId !== DEFAULT_DOMAIN.id) throw invalidField('project/domain_id', `only the '${DEFAULT_DOMAIN.id}' domain exists.`);
  if (optionalBoolean(body, 'is_domain', 'project') === true) throw invalidField('project/is_domain', 'projects acting as domains are not supported.');
  const parentId = body['parent_id'] === null ? null : optionalString(body, 'parent_id', 'project');
  if (parentId !== undefined && parentId !== null && parentId !== DEFAULT_DOMAIN.id) {
    throw invalidField('project/parent_id', 'project hierarchies are not supported; a project\'s parent is its domain.');
  }
  const options = body['options'] === undefined ? undefined : objectAt(body['options'], 'project/options');
  if (options !== undefined && Object.keys(options).length > 0) throw invalidField('project/options', 'project options are not supported.');
}
