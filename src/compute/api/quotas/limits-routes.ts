import type { FastifyInstance } from 'fastify';
import { computeUsage } from '../../../db/repos/quotas.js';
import { countServerGroups } from '../../../db/repos/server-groups.js';
import { atLeast } from '../microversion.js';
import { projectLimits } from './effective.js';
import type { ComputeDeps } from '../deps.js';
import { callerOf, param, queryOf } from '../request.js';

/** `GET /limits`: the caller's project limits and usage (admins may pass tenant_id); no rate limits. */
export function limitsRoutes(app: FastifyInstance, deps: ComputeDeps): void {
  app.get('/limits', async (req) => {
    const ctx = callerOf(req);
    const asked = param(queryOf(req), 'tenant_id');
    const projectId = ctx.isAdmin && asked !== undefined ? asked : (ctx.projectId ?? '');
    const q = await projectLimits(deps.db, deps, projectId);
    const used = await computeUsage(deps.db, deps.dialect, projectId);
    const absolute: Record<string, number> = {
      maxImageMeta: q.metadata_items,
      maxPersonality: q.injected_files,
      maxPersonalitySize: q.injected_file_content_bytes,
      maxSecurityGroupRules: q.security_group_rules,
      maxSecurityGroups: q.security_groups,
      maxServerGroupMembers: q.server_group_members,
      maxServerGroups: q.server_groups,
      maxServerMeta: q.metadata_items,
      maxTotalCores: q.cores,
      maxTotalFloatingIps: q.floating_ips,
      maxTotalInstances: q.instances,
      maxTotalKeypairs: q.key_pairs,
      maxTotalRAMSize: q.ram,
      totalCoresUsed: used.cores,
      totalFloatingIpsUsed: 0,
      totalInstancesUsed: used.instances,
      totalRAMUsed: used.ram,
      totalSecurityGroupsUsed: 0,
      totalServerGroupsUsed: await countServerGroups(deps.db, projectId),
    };
    // 2.36 drops the network-service limits, 2.39 the image-metadata one, 2.57 the personality ones (injected files are gone).
    if (atLeast(req, 2, 36)) {
      for (const k of ['maxSecurityGroupRules', 'maxSecurityGroups', 'maxTotalFloatingIps', 'totalFloatingIpsUsed', 'totalSecurityGroupsUsed']) delete absolute[k];
    }
    if (atLeast(req, 2, 39)) delete absolute['maxImageMeta'];
    if (atLeast(req, 2, 57)) for (const k of ['maxPersonality', 'maxPersonalitySize']) delete absolute[k];
    return { limits: { rate: [], absolute } };
  });
}
