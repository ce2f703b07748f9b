import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requireAdmin } from '../../../api/policy.js';
import { zonedHosts } from '../../../db/repos/aggregates.js';
import { findService, listNodes, listServices, updateServiceStatus } from '../../../db/repos/compute-admin.js';
import { InvalidInputError, PolyvisorError } from '../../../errors.js';
import type { ComputeDeps } from '../deps.js';
import { atLeast, versionOf, versionString } from '../microversion.js';
import { callerOf, param, pathParam, queryOf } from '../request.js';
import { strictObject } from '../validation.js';
import { INTERNAL_ZONE } from './zones.js';

/**
 * `os-hosts` (admin; deprecated, gone from 2.43: use os-hypervisors and os-services). One
 * entry per service, with the service's topic and zone; a compute host's detail is its
 * nodes' totals, what they use now, what their servers' flavors ask for, and that per
 * project. Updating `status` enables or disables the host's compute service; maintenance
 * mode and host power actions are not offered by any Polyvisor driver, so they answer 501
 * as Nova does for drivers without them.
 */
function gone(req: FastifyRequest): void {
  if (atLeast(req, 2, 43)) throw new PolyvisorError('not_found', `API version ${versionString(versionOf(req))} is not supported on this method.`);
}

const TOPICS: Readonly<Record<string, string>> = { 'nova-compute': 'compute', 'nova-scheduler': 'scheduler', 'nova-conductor': 'conductor' };

const onOff = { type: 'string', enum: ['enable', 'disable', 'Enable', 'Disable', 'ENABLE', 'DISABLE'] };
const updateSchema = { ...strictObject({ status: onOff, maintenance_mode: onOff }), anyOf: [{ required: ['status'] }, { required: ['maintenance_mode'] }] };

export function hostRoutes(app: FastifyInstance, deps: ComputeDeps): void {
  const admin = (req: FastifyRequest, what: string) => {
    gone(req);
    requireAdmin(callerOf(req), `os_compute_api:os-hosts:${what}`);
  };
  const computeService = async (host: string) => {
    const s = await findService(deps.db, host, 'nova-compute');
    if (!s) throw new PolyvisorError('not_found', `Compute host ${host} could not be found.`);
    return s;
  };

  app.get('/os-hosts', async (req) => {
    admin(req, 'list');
    const [services, zoned] = await Promise.all([listServices(deps.db), zonedHosts(deps.db)]);
    const zone = param(queryOf(req), 'zone');
    const hosts = services.map((s) => ({
      host_name: s.host,
      service: TOPICS[s.binary] ?? s.topic,
      zone: s.binary === 'nova-compute' ? (zoned.get(s.host) ?? deps.config.DEFAULT.default_availability_zone) : INTERNAL_ZONE,
    }));
    // Nova filters only on a non-empty zone.
    return { hosts: zone === undefined || zone === '' ? hosts : hosts.filter((h) => h.zone === zone) };
  });

  app.get('/os-hosts/:host', async (req) => {
    admin(req, 'show');
    const host = pathParam(req, 'host');
    await computeService(host);
    const nodes = (await listNodes(deps.db)).filter((n) => n.service.host === host).map((n) => n.node);
    const sum = (f: (n: (typeof nodes)[number]) => number) => nodes.reduce((a, n) => a + f(n), 0);
    const resource = (project: string, cpu: number, memory_mb: number, disk_gb: number) => ({ resource: { host, project, cpu, memory_mb, disk_gb } });
    const instances = await deps.db.selectFrom('instances').select(['project_id', 'flavor']).where('host', '=', host).where('deleted', '=', 0).execute();
    const perProject = new Map<string, { cpu: number; mem: number; disk: number }>();
    for (const i of instances) {
      const f = parseFlavor(i.flavor);
      const p = perProject.get(i.project_id) ?? { cpu: 0, mem: 0, disk: 0 };
      p.cpu += f.vcpus;
      p.mem += f.memory_mb;
      p.disk += f.root_gb + f.ephemeral_gb;
      perProject.set(i.project_id, p);
    }
    const max = [...perProject.values()].reduce((a, p) => ({ cpu: a.cpu + p.cpu, mem: a.mem + p.mem, disk: a.disk + p.disk }), { cpu: 0, mem: 0, disk: 0 });
    return {
      host: [
        resource('(total)', sum((n) => n.vcpus), sum((n) => n.memory_mb), sum((n) => n.local_gb)),
        resource('(used_now)', sum((n) => n.vcpus_used), sum((n) => n.memory_mb_used), sum((n) => n.local_gb_used)),
        resource('(used_max)', max.cpu, max.mem, max.disk),
        ...[...perProject.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([p, u]) => resource(p, u.cpu, u.mem, u.disk)),
      ],
    };
  });

  app.put('/os-hosts/:host', { schema: { body: updateSchema } }, async (req) => {
    admin(req, 'update');
    const host = pathParam(req, 'host');
    const body = req.body as { status?: string; maintenance_mode?: string };
    const service = await computeService(host);
    if (body.maintenance_mode !== undefined) throw new PolyvisorError('not_implemented', 'Virt driver does not implement host maintenance mode.');
    const status = (body.status ?? '').toLowerCase();
    if (status !== 'enable' && status !== 'disable') throw new InvalidInputError(`Invalid status: '${body.status ?? ''}'`);
    await updateServiceStatus(deps.db, service.id, status === 'enable' ? { disabled: 0, disabled_reason: null } : { disabled: 1 });
    return { host, status: status === 'enable' ? 'enabled' : 'disabled' };
  });

  for (const action of ['startup', 'shutdown', 'reboot'] as const) {
    app.get(`/os-hosts/:host/${action}`, async (req) => {
      admin(req, action);
      await computeService(pathParam(req, 'host'));
      throw new PolyvisorError('not_implemented', 'Virt driver does not implement host power management.');
    });
  }
}

function parseFlavor(text: string): { vcpus: number; memory_mb: number; root_gb: number; ephemeral_gb: number } {
  try {
    const f = JSON.parse(text) as Record<string, unknown>;
    const n = (k: string) => (typeof f[k] === 'number' ? f[k] : 0);
    return { vcpus: n('vcpus'), memory_mb: n('memory_mb'), root_gb: n('root_gb'), ephemeral_gb: n('ephemeral_gb') };
  } catch {
    return { vcpus: 0, memory_mb: 0, root_gb: 0, ephemeral_gb: 0 };
  }
}
