import type { FastifyInstance, FastifyRequest } from 'fastify';
import { canSee, projectOf, requireWriter } from '../../../api/policy.js';
import { InvalidInputError, NotFoundError, QuotaExceededError } from '../../../errors.js';
import {
  countServerGroups,
  createServerGroup,
  deleteServerGroup,
  getServerGroup,
  GROUP_POLICIES,
  listServerGroups,
  type GroupPolicy,
  type ServerGroup,
} from '../../../db/repos/server-groups.js';
import { lockQuotaScope } from '../../../db/repos/quotas.js';
import type { ComputeDeps } from '../deps.js';
import { atLeast } from '../microversion.js';
import { effectiveQuotas } from '../quotas/effective.js';
import { callerOf, param, parseBool, pathParam, queryOf } from '../request.js';
import { strictObject } from '../validation.js';

/** Nova's view: `policies` + `metadata` before 2.64, `policy` + `rules` from it; owner from 2.13. */
export function serverGroupView(req: FastifyRequest, g: ServerGroup): Record<string, unknown> {
  const out: Record<string, unknown> = { id: g.row.uuid, name: g.row.name };
  if (atLeast(req, 2, 64)) {
    out['policy'] = g.row.policy;
    out['rules'] = g.rules;
  } else {
    out['policies'] = [g.row.policy];
    out['metadata'] = {};
  }
  out['members'] = [...g.members];
  if (atLeast(req, 2, 13)) {
    out['project_id'] = g.row.project_id;
    out['user_id'] = g.row.user_id;
  }
  return out;
}

const bodySchema = strictObject({ server_group: { type: 'object' } }, ['server_group']);

function invalid(field: string, detail: string): InvalidInputError {
  return new InvalidInputError(`Invalid input for field/attribute ${field}. ${detail}`);
}

/** Nova's request schemas for 2.1, 2.15 (soft policies) and 2.64 (policy + rules), checked by hand. */
function parseCreate(req: FastifyRequest): { name: string; policy: GroupPolicy; rules: Record<string, number> } {
  const sg = (req.body as { server_group: Record<string, unknown> }).server_group;
  const v264 = atLeast(req, 2, 64);
  const allowed = v264 ? ['name', 'policy', 'rules'] : ['name', 'policies'];
  for (const k of Object.keys(sg)) {
    if (!allowed.includes(k)) throw new InvalidInputError(`Invalid input for field/attribute server_group. Additional properties are not allowed ('${k}' was unexpected)`);
  }
  const name = sg['name'];
  if (name === undefined) throw invalid('server_group', "'name' is a required property");
  if (typeof name !== 'string') throw invalid('name', `Value: ${JSON.stringify(name)}. ${JSON.stringify(name)} is not of type 'string'`);
  if (name.trim().length === 0 || name.length > 255 || name !== name.trim()) {
    throw invalid('name', `Value: ${name}. ${name.length > 255 ? 'is too long' : 'Invalid name: leading or trailing spaces, or empty'}`);
  }
  const policies: readonly string[] = atLeast(req, 2, 15) ? GROUP_POLICIES : ['affinity', 'anti-affinity'];
  let policy: string;
  if (v264) {
    const p = sg['policy'];
    if (p === undefined) throw invalid('server_group', "'policy' is a required property");
    if (typeof p !== 'string' || !policies.includes(p)) throw invalid('policy', `Value: ${JSON.stringify(p)}. ${JSON.stringify(p)} is not one of ${JSON.stringify(policies)}`);
    policy = p;
  } else {
    const p = sg['policies'];
    if (p === undefined) throw invalid('server_group', "'policies' is a required property");
    if (!Array.isArray(p) || p.length !== 1) throw invalid('policies', `Value: ${JSON.stringify(p)}. It must be a list of exactly one policy`);
    const only: unknown = p[0];
    if (typeof only !== 'string' || !policies.includes(only)) throw invalid('policies/0', `Value: ${JSON.stringify(only)}. ${JSON.stringify(only)} is not one of ${JSON.stringify(policies)}`);
    policy = only;
  }
  const rules: Record<string, number> = {};
  if (v264 && sg['rules'] !== undefined) {
    const r = sg['rules'];
    if (r === null || typeof r !== 'object' || Array.isArray(r)) throw invalid('rules', `Value: ${JSON.stringify(r)}. is not of type 'object'`);
    for (const [k, val] of Object.entries(r as Record<string, unknown>)) {
      if (k !== 'max_server_per_host') throw invalid('rules', `Additional properties are not allowed ('${k}' was unexpected)`);
      const n = typeof val === 'string' && /^[0-9]+$/.test(val) ? Number(val) : val;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw invalid('rules/max_server_per_host', `Value: ${JSON.stringify(val)}. must be a positive integer`);
      rules[k] = n;
    }
    if (Object.keys(rules).length > 0 && policy !== 'anti-affinity') throw new InvalidInputError('Only anti-affinity policy supports rules.');
  }
  return { name, policy: policy as GroupPolicy, rules };
}

/** `os-server-groups`: create, list (all_projects for admins), show, delete; quota server_groups. */
export function serverGroupRoutes(app: FastifyInstance, deps: ComputeDeps): void {
  app.post('/os-server-groups', { schema: { body: bodySchema } }, async (req) => {
    const ctx = callerOf(req);
    requireWriter(ctx, 'os_compute_api:os-server-groups:create');
    const projectId = projectOf(ctx);
    const input = parseCreate(req);
    const group = await deps.db.transaction().execute(async (trx) => {
      await lockQuotaScope(trx, deps.dialect, `project:${projectId}`);
      const limit = (await effectiveQuotas(trx, deps, projectId, ctx.userId)).server_groups;
      if (limit >= 0 && (await countServerGroups(trx, projectId)) + 1 > limit) throw new QuotaExceededError('Quota exceeded, too many server groups.');
      return createServerGroup(trx, { ...input, projectId, userId: ctx.userId });
    });
    return { server_group: serverGroupView(req, group) };
  });

  app.get('/os-server-groups', async (req) => {
    const ctx = callerOf(req);
    const q = queryOf(req);
    const allRaw = param(q, 'all_projects');
    const all = ctx.isAdmin && allRaw !== undefined && (allRaw === '' || parseBool(allRaw, 'all_projects'));
    let groups = await listServerGroups(deps.db, all ? undefined : projectOf(ctx));
    const offset = nonNegative(param(q, 'offset'), 'offset') ?? 0;
    const limit = Math.min(nonNegative(param(q, 'limit'), 'limit') ?? deps.config.api.max_limit, deps.config.api.max_limit);
    groups = groups.slice(offset, offset + limit);
    return { server_groups: groups.map((g) => serverGroupView(req, g)) };
  });

  app.get('/os-server-groups/:group_id', async (req) => {
    const ctx = callerOf(req);
    const id = pathParam(req, 'group_id');
    const g = await getServerGroup(deps.db, id);
    if (!g || !canSee(ctx, g.row.project_id)) throw new NotFoundError('Instance group', id);
    return { server_group: serverGroupView(req, g) };
  });

  app.delete('/os-server-groups/:group_id', async (req, reply) => {
    const ctx = callerOf(req);
    requireWriter(ctx, 'os_compute_api:os-server-groups:delete');
    const id = pathParam(req, 'group_id');
    const g = await getServerGroup(deps.db, id);
    if (!g || !canSee(ctx, g.row.project_id)) throw new NotFoundError('Instance group', id);
    await deleteServerGroup(deps.db, id);
    return reply.status(204).send();
  });
}

function nonNegative(raw: string | undefined, name: string): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^[0-9]+$/.test(raw.trim())) throw new InvalidInputError(`Invalid input for query parameters ${name}. Value: ${raw}. '${raw}' is not a non-negative integer.`);
  return Number(raw);
}
