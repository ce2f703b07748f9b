import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuthContext } from '../../../api/context.js';
import { requireAdmin } from '../../../api/policy.js';
import { ForbiddenError, InvalidInputError } from '../../../errors.js';
import {
  computeUsage,
  defaultQuotas,
  keypairCount,
  deleteProjectQuotas,
  projectQuotas,
  QUOTA_RESOURCES,
  setProjectQuotas,
  type QuotaLimits,
  type QuotaResource,
} from '../../../db/repos/quotas.js';
import type { ComputeDeps } from '../deps.js';
import { callerOf, param, parseBool, pathParam, queryOf } from '../request.js';
import { intOrDigits, strictObject } from '../validation.js';

const limitValue = { anyOf: [{ type: 'integer', minimum: -1, maximum: 2147483647 }, { type: 'string', pattern: '^-?[0-9]+$' }] };
const updateSchema = strictObject(
  {
    quota_set: strictObject({
      ...Object.fromEntries(QUOTA_RESOURCES.map((r) => [r, limitValue])),
      force: { anyOf: [{ type: 'boolean' }, { type: 'string' }] },
      // Nova's legacy networks quota: accepted, not kept.
      networks: intOrDigits,
    }),
  },
  ['quota_set'],
);

/** Usage that limits a lowering of the quota (Nova refuses a limit below what is used unless forced). */
async function usageOf(deps: ComputeDeps, projectId: string, ctx: AuthContext): Promise<Partial<Record<QuotaResource, number>>> {
  const u = await computeUsage(deps.db, deps.dialect, projectId);
  return { instances: u.instances, cores: u.cores, ram: u.ram, key_pairs: ctx.projectId === projectId ? await keypairCount(deps.db, ctx.userId) : 0 };
}

/** A member may read the quotas of its own project; admins any project. */
function readableProject(req: FastifyRequest): string {
  const ctx = callerOf(req);
  const projectId = pathParam(req, 'project_id');
  if (!ctx.isAdmin && ctx.projectId !== projectId) throw new ForbiddenError("Policy doesn't allow os_compute_api:os-quota-sets:show to be performed.");
  return projectId;
}

/** `os-quota-sets` at 2.1 (with the network-era resources Nova still shows before 2.36). */
export function quotaSetRoutes(app: FastifyInstance, deps: ComputeDeps): void {
  const defaults = (): QuotaLimits => defaultQuotas(deps.config.quota);

  app.get('/os-quota-sets/:project_id', async (req) => {
    const projectId = readableProject(req);
    return { quota_set: { id: projectId, ...(await projectQuotas(deps.db, defaults(), projectId)) } };
  });

  app.get('/os-quota-sets/:project_id/defaults', async (req) => {
    callerOf(req);
    return { quota_set: { id: pathParam(req, 'project_id'), ...defaults() } };
  });

  app.get('/os-quota-sets/:project_id/detail', async (req) => {
    const projectId = readableProject(req);
    const limits = await projectQuotas(deps.db, defaults(), projectId);
    const used = await usageOf(deps, projectId, callerOf(req));
    const detail = Object.fromEntries(QUOTA_RESOURCES.map((r) => [r, { limit: limits[r], in_use: used[r] ?? 0, reserved: 0 }]));
    return { quota_set: { id: projectId, ...detail } };
  });

  app.put('/os-quota-sets/:project_id', { schema: { body: updateSchema } }, async (req) => {
    const ctx = callerOf(req);
    requireAdmin(ctx, 'os_compute_api:os-quota-sets:update');
    if (param(queryOf(req), 'user_id') !== undefined) throw new InvalidInputError('Per-user quotas are not supported; set the project quota.');
    const projectId = pathParam(req, 'project_id');
    const body = (req.body as { quota_set: Record<string, number | string | boolean | undefined> }).quota_set;
    const force = body['force'] !== undefined && parseBool(String(body['force']), 'force');
    const updates: Partial<QuotaLimits> = {};
    for (const r of QUOTA_RESOURCES) {
      const v = body[r];
      if (v === undefined) continue;
      const n = Number(v);
      if (!Number.isInteger(n) || n < -1) throw new InvalidInputError(`Quota limit ${String(v)} for ${r} must be an integer of -1 or more.`);
      updates[r] = n;
    }
    if (!force) {
      const used = await usageOf(deps, projectId, ctx);
      for (const [r, limit] of Object.entries(updates) as [QuotaResource, number][]) {
        const inUse = used[r] ?? 0;
        if (limit !== -1 && limit < inUse) {
          throw new InvalidInputError(`Quota limit ${limit} for ${r} must be greater than or equal to already used and reserved ${inUse}.`);
        }
      }
    }
    await setProjectQuotas(deps.db, projectId, updates);
    return { quota_set: await projectQuotas(deps.db, defaults(), projectId) };
  });

  app.delete('/os-quota-sets/:project_id', async (req, reply) => {
    requireAdmin(callerOf(req), 'os_compute_api:os-quota-sets:delete');
    await deleteProjectQuotas(deps.db, pathParam(req, 'project_id'));
    return reply.status(202).send();
  });
}
