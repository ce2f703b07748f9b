import type { FastifyInstance } from 'fastify';
import { computeUsage, defaultQuotas, projectQuotas } from '../../../db/repos/quotas.js';
import type { ComputeDeps } from '../deps.js';
import { callerOf, param, queryOf } from '../request.js';

/** `GET /limits`: the caller's project limits and usage (admins may pass tenant_id); no rate limits. */
export function limitsRoutes(app: FastifyInstance, deps: ComputeDeps): void {
  app.get('/limits', async (req) => {
    const ctx = callerOf(req);
    const asked = param(queryOf(req), 'tenant_id');
    const projectId = ctx.isAdmin && asked !== undefined ? asked : (ctx.projectId ?? '');
    const q = await projectQuotas(deps.db, defaultQuotas(deps.config.quota), projectId);
    const used = await computeUsage(deps.db, deps.dialect, projectId);
    return {
      limits: {
        rate: [],
        absolute: {
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
          totalServerGroupsUsed: 0,
        },
      },
    };
  });
}
