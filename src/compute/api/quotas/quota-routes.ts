import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuthContext } from '../../../api/context.js';
import { requireAdmin } from '../../../api/policy.js';
import { ForbiddenError, InvalidInputError } from '../../../errors.js';
import {
  classQuotas,
  computeUsage,
  defaultQuotas,
  deleteProjectQuotas,
  deleteUserQuotas,
  keypairCount,
  QUOTA_RESOURCES,
  setClassQuotas,
  setProjectQuotas,
  setUserQuotas,
  userComputeUsage,
  type QuotaLimits,
  type QuotaResource,
} from '../../../db/repos/quotas.js';
import { countServerGroups } from '../../../db/repos/server-groups.js';
import { atLeast } from '../microversion.js';
import { effectiveQuotas, projectLimits, quotaDefaults } from './effective.js';
import type { ComputeDeps } from '../deps.js';
import { callerOf, param, parseBool, pathParam, queryOf } from '../request.js';
import { strictObject } from '../validation.js';

// The keys allowed depend on the version (parseLimits); Nova's legacy `networks` is accepted before 2.36, not kept.
const updateSchema = strictObject({ quota_set: { type: 'object' } }, ['quota_set']);
const classUpdateSchema = strictObject({ quota_class_set: { type: 'object' } }, ['quota_class_set']);

const NETWORK_RESOURCES: readonly QuotaResource[] = ['fixed_ips', 'floating_ips', 'security_groups', 'security_group_rules'];
const FILE_RESOURCES: readonly QuotaResource[] = ['injected_files', 'injected_file_content_bytes', 'injected_file_path_bytes'];

/**
 * The resources a quota_set (or, with `forClass`, a quota_class_set) shows at this version:
 * 2.36 drops the network-service ones from quota sets (2.50 from quota classes, which then
 * gain server_groups and server_group_members), 2.57 drops the injected-file ones.
 */
export function visibleResources(req: FastifyRequest, forClass = false): QuotaResource[] {
  return QUOTA_RESOURCES.filter((r) => {
    if (NETWORK_RESOURCES.includes(r)) return !atLeast(req, 2, forClass ? 50 : 36);
    if (FILE_RESOURCES.includes(r)) return !atLeast(req, 2, 57);
    if (forClass && (r === 'server_groups' || r === 'server_group_members')) return atLeast(req, 2, 50);
    return true;
  });
}

function pick(limits: QuotaLimits, resources: readonly QuotaResource[]): Record<string, number> {
  return Object.fromEntries(resources.map((r) => [r, limits[r]]));
}

/** Checks an update body against the resources of this version (Nova's schema: unknown keys are 400). */
function parseLimits(body: Record<string, unknown>, resources: readonly QuotaResource[], extra: readonly string[]): Partial<QuotaLimits> {
  const updates: Partial<QuotaLimits> = {};
  for (const [k, v] of Object.entries(body)) {
    if (extra.includes(k)) continue;
    if (!(resources as readonly string[]).includes(k)) {
      throw new InvalidInputError(`Invalid input for field/attribute quota_set. Additional properties are not allowed ('${k}' was unexpected)`);
    }
    const n = typeof v === 'string' && /^-?[0-9]+$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < -1 || n > 2147483647) {
      throw new InvalidInputError(`Invalid input for field/attribute ${k}. Value: ${String(v)}. Quota limit ${String(v)} for ${k} must be an integer of -1 or more.`);
    }
    updates[k as QuotaResource] = n;
  }
  return updates;
}

/** Usage that limits a lowering of the quota (Nova refuses a limit below what is used unless forced). */
async function usageOf(deps: ComputeDeps, projectId: string, userId: string | undefined, ctx: AuthContext): Promise<Partial<Record<QuotaResource, number>>> {
  const u = userId === undefined ? await computeUsage(deps.db, deps.dialect, projectId) : await userComputeUsage(deps.db, deps.dialect, projectId, userId);
  const keyOwner = userId ?? (ctx.projectId === projectId ? ctx.userId : undefined);
  return {
    instances: u.instances,
    cores: u.cores,
    ram: u.ram,
    key_pairs: keyOwner === undefined ? 0 : await keypairCount(deps.db, keyOwner),
    server_groups: userId === undefined ? await countServerGroups(deps.db, projectId) : 0,
  };
}

/** A member may read the quotas of its own project; admins any project. */
function readableProject(req: FastifyRequest): string {
  const ctx = callerOf(req);
  const projectId = pathParam(req, 'project_id');
  if (!ctx.isAdmin && ctx.projectId !== projectId) throw new ForbiddenError("Policy doesn't allow os_compute_api:os-quota-sets:show to be performed.");
  return projectId;
}

/** `?user_id=`: per-user quotas inside the project (Nova's legacy quota driver). */
function userOf(req: FastifyRequest): string | undefined {
  const u = param(queryOf(req), 'user_id');
  return u === undefined || u === '' ? undefined : u;
}

async function limitsFor(deps: ComputeDeps, projectId: string, userId: string | undefined): Promise<QuotaLimits> {
  return userId === undefined ? projectLimits(deps.db, deps, projectId) : effectiveQuotas(deps.db, deps, projectId, userId);
}

/**
 * `os-quota-sets`: project quotas and, with `?user_id=`, a user's quotas inside the
 * project (a user limit may not exceed the project's). Defaults are [quota] overlaid by the
 * 'default' quota class.
 */
export function quotaSetRoutes(app: FastifyInstance, deps: ComputeDeps): void {
  app.get('/os-quota-sets/:project_id', async (req) => {
    const projectId = readableProject(req);
    return { quota_set: { id: projectId, ...pick(await limitsFor(deps, projectId, userOf(req)), visibleResources(req)) } };
  });

  app.get('/os-quota-sets/:project_id/defaults', async (req) => {
    callerOf(req);
    return { quota_set: { id: pathParam(req, 'project_id'), ...pick(await quotaDefaults(deps.db, deps), visibleResources(req)) } };
  });

  app.get('/os-quota-sets/:project_id/detail', async (req) => {
    const projectId = readableProject(req);
    const userId = userOf(req);
    const limits = await limitsFor(deps, projectId, userId);
    const used = await usageOf(deps, projectId, userId, callerOf(req));
    const detail = Object.fromEntries(visibleResources(req).map((r) => [r, { limit: limits[r], in_use: used[r] ?? 0, reserved: 0 }]));
    return { quota_set: { id: projectId, ...detail } };
  });

  app.put('/os-quota-sets/:project_id', { schema: { body: updateSchema } }, async (req) => {
    const ctx = callerOf(req);
    requireAdmin(ctx, 'os_compute_api:os-quota-sets:update');
    const projectId = pathParam(req, 'project_id');
    const userId = userOf(req);
    const body = (req.body as { quota_set: Record<string, unknown> }).quota_set;
    const rawForce = body['force'];
    const force = typeof rawForce === 'boolean' ? rawForce : typeof rawForce === 'string' ? parseBool(rawForce, 'force') : false;
    const updates = parseLimits(body, visibleResources(req), atLeast(req, 2, 36) ? ['force'] : ['force', 'networks']);
    if (!force) {
      const used = await usageOf(deps, projectId, userId, ctx);
      for (const [r, limit] of Object.entries(updates) as [QuotaResource, number][]) {
        const inUse = used[r] ?? 0;
        if (limit !== -1 && limit < inUse) {
          throw new InvalidInputError(`Quota limit ${limit} for ${r} must be greater than or equal to already used and reserved ${inUse}.`);
        }
      }
    }
    if (userId === undefined) {
      await setProjectQuotas(deps.db, projectId, updates);
    } else {
      const project = await projectLimits(deps.db, deps, projectId);
      for (const [r, limit] of Object.entries(updates) as [QuotaResource, number][]) {
        const maximum = project[r];
        if (maximum !== -1 && (limit === -1 || limit > maximum)) {
          throw new InvalidInputError(`Quota limit ${limit} for ${r} must be less than or equal to ${maximum}.`);
        }
      }
      await setUserQuotas(deps.db, projectId, userId, updates);
    }
    return { quota_set: pick(await limitsFor(deps, projectId, userId), visibleResources(req)) };
  });

  app.delete('/os-quota-sets/:project_id', async (req, reply) => {
    requireAdmin(callerOf(req), 'os_compute_api:os-quota-sets:delete');
    const userId = userOf(req);
    if (userId === undefined) await deleteProjectQuotas(deps.db, pathParam(req, 'project_id'));
    else await deleteUserQuotas(deps.db, pathParam(req, 'project_id'), userId);
    return reply.status(202).send();
  });

  /** os-quota-class-sets: only the 'default' class is used (it overrides the [quota] defaults). */
  app.get('/os-quota-class-sets/:id', async (req) => {
    requireAdmin(callerOf(req), 'os_compute_api:os-quota-class-sets:show');
    const id = pathParam(req, 'id');
    return { quota_class_set: { id, ...pick(await classQuotas(deps.db, defaultQuotas(deps.config.quota), id), visibleResources(req, true)) } };
  });

  app.put('/os-quota-class-sets/:id', { schema: { body: classUpdateSchema } }, async (req) => {
    requireAdmin(callerOf(req), 'os_compute_api:os-quota-class-sets:update');
    const id = pathParam(req, 'id');
    if (id.length === 0 || id.length > 255) throw new InvalidInputError('The quota class name must be 1 to 255 characters.');
    const body = (req.body as { quota_class_set: Record<string, unknown> }).quota_class_set;
    const updates = parseLimits(body, visibleResources(req, true), []);
    await setClassQuotas(deps.db, id, updates);
    return { quota_class_set: pick(await classQuotas(deps.db, defaultQuotas(deps.config.quota), id), visibleResources(req, true)) };
  });
}
