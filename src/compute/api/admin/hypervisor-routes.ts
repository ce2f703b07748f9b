import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requireAdmin } from '../../../api/policy.js';
import { InvalidInputError, PolyvisorError } from '../../../errors.js';
import { listNodes, serversOnNodes, workloadByNode, type NodeWithService } from '../../../db/repos/compute-admin.js';
import { isServiceUp } from '../../service-status.js';
import type { ComputeDeps } from '../deps.js';
import { atLeast, versionOf, versionString } from '../microversion.js';
import { callerOf, Linker, param, parseBool, parseLimit, pathParam, queryOf } from '../request.js';

/** A route a later microversion removed: 404 as Nova answers for a method outside its versions. */
function removedAt(req: FastifyRequest, minor: number): void {
  if (atLeast(req, 2, minor)) throw new PolyvisorError('not_found', `API version ${versionString(versionOf(req))} is not supported on this method.`);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * `os-hypervisors` (admin). 2.28 shows cpu_info as an object; 2.33 pages lists (limit,
 * marker); 2.53 identifies hypervisors and their services by uuid, takes
 * hypervisor_hostname_pattern and with_servers as query parameters and retires the
 * /search and /servers forms; 2.75 shows `servers` (even empty) whenever with_servers asks;
 * 2.88 drops the resource fields and /statistics, and moves uptime into show (retiring
 * /uptime).
 */
export function hypervisorRoutes(app: FastifyInstance, deps: ComputeDeps): void {
  const admin = (req: FastifyRequest, what: string) => requireAdmin(callerOf(req), `os_compute_api:os-hypervisors:${what}`);
  const summary = (req: FastifyRequest, n: NodeWithService) => ({
    id: atLeast(req, 2, 53) ? n.node.uuid : n.node.id,
    hypervisor_hostname: n.node.hypervisor_hostname,
    state: isServiceUp(n.service, deps.config.DEFAULT.service_down_time) ? 'up' : 'down',
    status: n.service.disabled === 1 ? 'disabled' : 'enabled',
  });
  const resources = (n: NodeWithService, workload: ReadonlyMap<string, number>) => {
    const free_disk_gb = n.node.local_gb - n.node.local_gb_used;
    return {
      current_workload: workload.get(n.node.hypervisor_hostname) ?? 0,
      disk_available_least: free_disk_gb,
      free_disk_gb,
      free_ram_mb: n.node.memory_mb - n.node.memory_mb_used,
      local_gb: n.node.local_gb,
      local_gb_used: n.node.local_gb_used,
      memory_mb: n.node.memory_mb,
      memory_mb_used: n.node.memory_mb_used,
      running_vms: n.node.running_vms,
      vcpus: n.node.vcpus,
      vcpus_used: n.node.vcpus_used,
    };
  };
  const detail = (req: FastifyRequest, n: NodeWithService, workload: ReadonlyMap<string, number>) => {
    const v53 = atLeast(req, 2, 53);
    const out: Record<string, unknown> = {
      ...summary(req, n),
      host_ip: n.node.host_ip,
      hypervisor_type: n.node.hypervisor_type,
      hypervisor_version: n.node.hypervisor_version,
      service: { host: n.service.host, id: v53 ? n.service.uuid : n.service.id, disabled_reason: n.service.disabled_reason },
    };
    if (!atLeast(req, 2, 88)) {
      Object.assign(out, resources(n, workload));
      out['cpu_info'] = atLeast(req, 2, 28) ? parseCpuInfo(n.node.cpu_info) : n.node.cpu_info;
    }
    return out;
  };
  const byPattern = async (req: FastifyRequest, pattern: string) => {
    const nodes = await listNodes(deps.db, { pattern });
    if (nodes.length === 0) throw new PolyvisorError('not_found', `No hypervisor matching '${pattern}' could be found.`);
    return nodes;
  };
  const withServers = (req: FastifyRequest): boolean => {
    const raw = param(queryOf(req), 'with_servers');
    if (raw === undefined || !atLeast(req, 2, 53)) return false;
    return parseBool(raw, 'with_servers');
  };
  const addServers = async (req: FastifyRequest, nodes: readonly NodeWithService[], views: Record<string, unknown>[]) => {
    const servers = await serversOnNodes(deps.db, nodes.map((n) => n.node.hypervisor_hostname));
    nodes.forEach((n, i) => {
      const list = servers.get(n.node.hypervisor_hostname) ?? [];
      if (list.length > 0 || atLeast(req, 2, 75)) (views[i] as Record<string, unknown>)['servers'] = list;
    });
  };

  const list = async (req: FastifyRequest, detailed: boolean) => {
    const q = queryOf(req);
    const pattern = atLeast(req, 2, 53) ? param(q, 'hypervisor_hostname_pattern') : undefined;
    let nodes = pattern === undefined ? await listNodes(deps.db) : await byPattern(req, pattern);
    let limit: number | undefined;
    if (atLeast(req, 2, 33)) {
      const marker = param(q, 'marker');
      if ((marker !== undefined || param(q, 'limit') !== undefined) && pattern !== undefined) {
        throw new InvalidInputError('Paging over hypervisors with hypervisor_hostname_pattern is not supported.');
      }
      if (marker !== undefined) {
        const i = nodes.findIndex((n) => (atLeast(req, 2, 53) ? n.node.uuid === marker : String(n.node.id) === marker));
        if (i < 0) throw new InvalidInputError(`marker [${marker}] not found`);
        nodes = nodes.slice(i + 1);
      }
      if (param(q, 'limit') !== undefined) {
        limit = parseLimit(q, deps.config.api.max_limit);
        nodes = nodes.slice(0, limit);
      }
    }
    const workload = detailed ? await workloadByNode(deps.db) : new Map<string, number>();
    const views = nodes.map((n) => (detailed ? detail(req, n, workload) : summary(req, n)));
    if (withServers(req)) await addServers(req, nodes, views);
    const body: Record<string, unknown> = { hypervisors: views };
    const last = nodes[nodes.length - 1];
    if (limit !== undefined && last && nodes.length === limit) {
      body['hypervisors_links'] = new Linker(req, deps).next(detailed ? 'os-hypervisors/detail' : 'os-hypervisors', q, atLeast(req, 2, 53) ? last.node.uuid : String(last.node.id));
    }
    return body;
  };

  app.get('/os-hypervisors', async (req) => {
    admin(req, 'list');
    return list(req, false);
  });

  app.get('/os-hypervisors/detail', async (req) => {
    admin(req, 'list-detail');
    return list(req, true);
  });

  app.get('/os-hypervisors/statistics', async (req) => {
    admin(req, 'statistics');
    removedAt(req, 88);
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
      const d = resources(n, workload);
      stats.count += 1;
      for (const k of Object.keys(stats) as (keyof typeof stats)[]) if (k !== 'count') stats[k] += d[k];
    }
    return { hypervisor_statistics: stats };
  });

  /** The node in the path: an integer id before 2.53, a uuid from it (anything else is 400 then, as in Nova). */
  const one = async (req: FastifyRequest): Promise<NodeWithService> => {
    const raw = pathParam(req, 'id');
    if (atLeast(req, 2, 53)) {
      if (!UUID.test(raw)) throw new InvalidInputError(`Invalid uuid ${raw}`);
      const node = (await listNodes(deps.db)).find((n) => n.node.uuid === raw);
      if (!node) throw new PolyvisorError('not_found', `Hypervisor ${raw} could not be found.`);
      return node;
    }
    const [node] = /^\d+$/.test(raw) ? await listNodes(deps.db, { id: Number(raw) }) : [];
    if (!node) throw new PolyvisorError('not_found', `Hypervisor ${raw} could not be found.`);
    return node;
  };

  app.get('/os-hypervisors/:id', async (req) => {
    admin(req, 'show');
    const node = await one(req);
    const view = detail(req, node, await workloadByNode(deps.db));
    if (atLeast(req, 2, 88)) view['uptime'] = uptimeText(node.node.boot_time, new Date());
    if (withServers(req)) await addServers(req, [node], [view]);
    return { hypervisor: view };
  });

  // Uptime comes from the boot time the node's driver reports (fake: when the driver started;
  // libvirt: the local host's; VMware: the cluster's longest-running host). A driver that cannot
  // tell leaves it null, and Nova's answer for such drivers is 501.
  app.get('/os-hypervisors/:id/uptime', async (req) => {
    admin(req, 'uptime');
    removedAt(req, 88);
    const node = await one(req);
    const uptime = uptimeText(node.node.boot_time, new Date());
    if (uptime === null) throw new PolyvisorError('not_implemented', 'Virt driver does not implement host uptime function.');
    return { hypervisor: { ...summary(req, node), uptime } };
  });

  app.get('/os-hypervisors/:pattern/search', async (req) => {
    admin(req, 'search');
    removedAt(req, 53);
    return { hypervisors: (await byPattern(req, pathParam(req, 'pattern'))).map((n) => summary(req, n)) };
  });

  app.get('/os-hypervisors/:pattern/servers', async (req) => {
    admin(req, 'servers');
    removedAt(req, 53);
    const nodes = await byPattern(req, pathParam(req, 'pattern'));
    const servers = await serversOnNodes(deps.db, nodes.map((n) => n.node.hypervisor_hostname));
    return {
      hypervisors: nodes.map((n) => {
        const list = servers.get(n.node.hypervisor_hostname);
        return list && list.length > 0 ? { ...summary(req, n), servers: list } : summary(req, n);
      }),
    };
  });
}

function parseCpuInfo(text: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
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
