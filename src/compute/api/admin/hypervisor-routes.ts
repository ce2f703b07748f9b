import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requireAdmin } from '../../../api/policy.js';
import { PolyvisorError } from '../../../errors.js';
import { listNodes, serversOnNodes, workloadByNode, type NodeWithService } from '../../../db/repos/compute-admin.js';
import { isServiceUp } from '../../service-status.js';
import type { ComputeDeps } from '../deps.js';
import { callerOf, pathParam } from '../request.js';

/** `os-hypervisors` at 2.1: integer ids, hostname patterns for search and servers. All admin. */
export function hypervisorRoutes(app: FastifyInstance, deps: ComputeDeps): void {
  const admin = (req: FastifyRequest, what: string) => requireAdmin(callerOf(req), `os_compute_api:os-hypervisors:${what}`);
  const summary = (n: NodeWithService) => ({
    id: n.node.id,
    hypervisor_hostname: n.node.hypervisor_hostname,
    state: isServiceUp(n.service, deps.config.DEFAULT.service_down_time) ? 'up' : 'down',
    status: n.service.disabled === 1 ? 'disabled' : 'enabled',
  });
  const detail = (n: NodeWithService, workload: ReadonlyMap<string, number>) => {
    const free_disk_gb = n.node.local_gb - n.node.local_gb_used;
    return {
      ...summary(n),
      cpu_info: n.node.cpu_info,
      current_workload: workload.get(n.node.hypervisor_hostname) ?? 0,
      disk_available_least: free_disk_gb,
      host_ip: n.node.host_ip,
      free_disk_gb,
      free_ram_mb: n.node.memory_mb - n.node.memory_mb_used,
      hypervisor_type: n.node.hypervisor_type,
      hypervisor_version: n.node.hypervisor_version,
      local_gb: n.node.local_gb,
      local_gb_used: n.node.local_gb_used,
      memory_mb: n.node.memory_mb,
      memory_mb_used: n.node.memory_mb_used,
      running_vms: n.node.running_vms,
      service: { host: n.service.host, id: n.service.id, disabled_reason: n.service.disabled_reason },
      vcpus: n.node.vcpus,
      vcpus_used: n.node.vcpus_used,
    };
  };
  const byPattern = async (req: FastifyRequest) => {
    const pattern = pathParam(req, 'pattern');
    const nodes = await listNodes(deps.db, { pattern });
    if (nodes.length === 0) throw new PolyvisorError('not_found', `No hypervisor matching '${pattern}' could be found.`);
    return nodes;
  };

  app.get('/os-hypervisors', async (req) => {
    admin(req, 'list');
    return { hypervisors: (await listNodes(deps.db)).map(summary) };
  });

  app.get('/os-hypervisors/detail', async (req) => {
    admin(req, 'list-detail');
    const [nodes, workload] = await Promise.all([listNodes(deps.db), workloadByNode(deps.db)]);
    return { hypervisors: nodes.map((n) => detail(n, workload)) };
  });

  app.get('/os-hypervisors/statistics', async (req) => {
    admin(req, 'statistics');
    const [nodes, workload] = await Promise.all([listNodes(deps.db), workloadByNode(deps.db)]);
    const stats = {
      count: 0,
      current_workload: 0,
      disk_available_least: 0,
      free_disk_gb: 0,
      free_ram_mb: 0,
      local_gb: 0,
      local_gb_used: 0,
      memory_mb: 0,
      memory_mb_used: 0,
      running_vms: 0,
      vcpus: 0,
      vcpus_used: 0,
    };
    // Nova counts only nodes whose compute service is enabled.
    for (const n of nodes.filter((x) => x.service.disabled === 0)) {
      const d = detail(n, workload);
      stats.count += 1;
      for (const k of Object.keys(stats) as (keyof typeof stats)[]) if (k !== 'count') stats[k] += d[k];
    }
    return { hypervisor_statistics: stats };
  });

  app.get('/os-hypervisors/:id', async (req) => {
    admin(req, 'show');
    const raw = pathParam(req, 'id');
    const id = /^\d+$/.test(raw) ? Number(raw) : undefined;
    const [node] = id === undefined ? [] : await listNodes(deps.db, { id });
    if (!node) throw new PolyvisorError('not_found', `Hypervisor ${raw} could not be found.`);
    return { hypervisor: detail(node, await workloadByNode(deps.db)) };
  });

  // Uptime comes from the boot time the node's driver reports (fake: when the driver started;
  // libvirt: the local host's; VMware: the cluster's longest-running host). A driver that cannot
  // tell leaves it null, and Nova's answer for such drivers is 501.
  app.get('/os-hypervisors/:id/uptime', async (req) => {
    admin(req, 'uptime');
    const raw = pathParam(req, 'id');
    const [node] = /^\d+$/.test(raw) ? await listNodes(deps.db, { id: Number(raw) }) : [];
    if (!node) throw new PolyvisorError('not_found', `Hypervisor ${raw} could not be found.`);
    const uptime = uptimeText(node.node.boot_time, new Date());
    if (uptime === null) throw new PolyvisorError('not_implemented', 'Virt driver does not implement host uptime function.');
    return { hypervisor: { ...summary(node), uptime } };
  });

  app.get('/os-hypervisors/:pattern/search', async (req) => {
    admin(req, 'search');
    return { hypervisors: (await byPattern(req)).map(summary) };
  });

  app.get('/os-hypervisors/:pattern/servers', async (req) => {
    admin(req, 'servers');
    const nodes = await byPattern(req);
    const servers = await serversOnNodes(deps.db, nodes.map((n) => n.node.hypervisor_hostname));
    return {
      hypervisors: nodes.map((n) => {
        const list = servers.get(n.node.hypervisor_hostname);
        return list && list.length > 0 ? { ...summary(n), servers: list } : summary(n);
      }),
    };
  });
}

/**
 * The host's uptime in the words of the `uptime` command, which is what Nova's libvirt driver
 * returns: " 08:32:11 up 93 days, 18:25,  0 users,  load average: 0.00, 0.00, 0.00" (users and
 * load are not known here and shown as zero). Null when the boot time is unknown.
 */
export function uptimeText(bootTime: string | null, at: Date): string | null {
  if (bootTime === null) return null;
  const boot = Date.parse(bootTime);
  if (Number.isNaN(boot)) return null;
  const minutes = Math.max(0, Math.floor((at.getTime() - boot) / 60_000));
  const days = Math.floor(minutes / 1440);
  const hh = Math.floor((minutes % 1440) / 60);
  const mm = minutes % 60;
  const clock = at.toISOString().slice(11, 19);
  const since = days > 0 ? `${days} day${days === 1 ? '' : 's'}, ${String(hh).padStart(2, ' ')}:${String(mm).padStart(2, '0')}` : hh > 0 ? `${String(hh).padStart(2, ' ')}:${String(mm).padStart(2, '0')}` : `${mm} min`;
  return ` ${clock} up ${since},  0 users,  load average: 0.00, 0.00, 0.00`;
}
