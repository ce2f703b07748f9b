import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requireAdmin } from '../../../api/policy.js';
import { listServices } from '../../../db/repos/compute-admin.js';
import type { InstanceRow } from '../../../db/schema.js';
import { ForbiddenError, InvalidInputError, NotFoundError } from '../../../errors.js';
import type { ComputeDeps } from '../deps.js';
import { atLeast } from '../microversion.js';
import { callerOf, Linker, param, parseBool, parseLimit, pathParam, queryOf, type Query } from '../request.js';
import { pythonIsoTime } from '../times.js';

/**
 * `os-simple-tenant-usage`: per project, the servers that existed during [start, end) and
 * their hours, counted from launched_at to terminated_at (deleted servers included, as Nova
 * reads them), with the flavor sizes they were built with. Listing all projects is for
 * admins; a member may read its own project. 2.40 pages the servers (limit, marker).
 */

/** Nova's accepted forms: '%Y-%m-%dT%H:%M:%S', with '.%f', or '%Y-%m-%d %H:%M:%S.%f'; times are UTC. */
function parseTime(raw: string | undefined, what: string): Date {
  if (raw === undefined || raw === '') return new Date();
  const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(\.\d{1,6})?$/.exec(raw.trim());
  const d = m ? new Date(`${m[1]}T${m[2]}${(m[3] ?? '').slice(0, 4)}Z`) : new Date(NaN);
  if (Number.isNaN(d.getTime())) throw new InvalidInputError(`Invalid ${what} time. ${raw} is not a valid date and time.`);
  return d;
}

function period(q: Query): { start: Date; end: Date } {
  const start = parseTime(param(q, 'start'), 'start');
  const end = parseTime(param(q, 'end'), 'end');
  if (start > end) throw new InvalidInputError('Invalid start time. The start time cannot occur after the end time.');
  return { start, end };
}

interface Flavor {
  name: string;
  vcpus: number;
  memory_mb: number;
  root_gb: number;
  ephemeral_gb: number;
}

function flavorOf(text: string): Flavor {
  try {
    const f = JSON.parse(text) as Record<string, unknown>;
    const n = (k: string) => (typeof f[k] === 'number' ? f[k] : 0);
    return { name: typeof f['name'] === 'string' ? f['name'] : '', vcpus: n('vcpus'), memory_mb: n('memory_mb'), root_gb: n('root_gb'), ephemeral_gb: n('ephemeral_gb') };
  } catch {
    return { name: '', vcpus: 0, memory_mb: 0, root_gb: 0, ephemeral_gb: 0 };
  }
}

type UsageRow = Pick<InstanceRow, 'uuid' | 'display_name' | 'project_id' | 'flavor' | 'vm_state' | 'deleted' | 'launched_at' | 'terminated_at'>;

function serverUsage(r: UsageRow, start: Date, end: Date, nowMs: number) {
  const f = flavorOf(r.flavor);
  const launched = r.launched_at === null ? null : new Date(r.launched_at);
  const terminated = r.terminated_at === null ? null : new Date(r.terminated_at);
  let hours = 0;
  if (launched !== null) {
    const from = Math.max(launched.getTime(), start.getTime());
    const to = Math.min(terminated?.getTime() ?? end.getTime(), end.getTime());
    hours = Math.max(0, to - from) / 3_600_000;
  }
  const startedMs = launched?.getTime() ?? nowMs;
  return {
    instance_id: r.uuid,
    name: r.display_name,
    hours,
    memory_mb: f.memory_mb,
    local_gb: f.root_gb + f.ephemeral_gb,
    vcpus: f.vcpus,
    tenant_id: r.project_id,
    flavor: f.name,
    started_at: pythonIsoTime(r.launched_at ?? null) ?? pythonIsoTime(new Date(nowMs).toISOString()),
    ended_at: pythonIsoTime(r.terminated_at),
    state: r.deleted === 1 ? 'terminated' : r.vm_state,
    uptime: Math.floor(((terminated?.getTime() ?? nowMs) - startedMs) / 1000),
  };
}

export function usageRoutes(app: FastifyInstance, deps: ComputeDeps): void {
  /** Servers of the period, oldest first by uuid order within creation time (a stable order for 2.40 markers). */
  const rowsOf = async (req: FastifyRequest, q: Query, start: Date, end: Date, projectId?: string): Promise<{ rows: UsageRow[]; limit: number | undefined }> => {
    let sel = deps.db
      .selectFrom('instances')
      .select(['uuid', 'display_name', 'project_id', 'flavor', 'vm_state', 'deleted', 'launched_at', 'terminated_at', 'created_at'])
      .where((eb) => eb.or([eb('terminated_at', 'is', null), eb('terminated_at', '>', start.toISOString())]))
      .where((eb) => eb.or([eb('launched_at', 'is', null), eb('launched_at', '<', end.toISOString())]))
      .where('created_at', '<', end.toISOString());
    if (projectId !== undefined) sel = sel.where('project_id', '=', projectId);
    let rows = await sel.orderBy('created_at').orderBy('uuid').execute();
    let limit: number | undefined;
    if (atLeast(req, 2, 40)) {
      const marker = param(q, 'marker');
      if (marker !== undefined) {
        const i = rows.findIndex((r) => r.uuid === marker);
        if (i < 0) throw new InvalidInputError(`marker [${marker}] not found`);
        rows = rows.slice(i + 1);
      }
      if (param(q, 'limit') !== undefined) {
        limit = parseLimit(q, deps.config.api.max_limit);
        rows = rows.slice(0, limit);
      }
    }
    return { rows, limit };
  };

  const totals = (usages: ReturnType<typeof serverUsage>[]) => ({
    total_local_gb_usage: usages.reduce((a, u) => a + u.local_gb * u.hours, 0),
    total_vcpus_usage: usages.reduce((a, u) => a + u.vcpus * u.hours, 0),
    total_memory_mb_usage: usages.reduce((a, u) => a + u.memory_mb * u.hours, 0),
    total_hours: usages.reduce((a, u) => a + u.hours, 0),
  });

  const nextLink = (req: FastifyRequest, path: string, rows: readonly UsageRow[], limit: number | undefined) => {
    const last = rows[rows.length - 1];
    if (limit === undefined || rows.length < limit || !last) return undefined;
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(queryOf(req))) if (k !== 'marker' && typeof v === 'string') q.set(k, v);
    q.set('marker', last.uuid);
    return [{ rel: 'next', href: `${new Linker(req, deps).root}/v2.1/${path}?${q.toString()}` }];
  };

  app.get('/os-simple-tenant-usage', async (req) => {
    // `/os-simple-tenant-usage/` (an empty tenant id) reaches this route too; Nova answers 404.
    if ((req.url.split('?')[0] ?? '').endsWith('/')) throw new NotFoundError('Project', '');
    requireAdmin(callerOf(req), 'os_compute_api:os-simple-tenant-usage:list');
    const q = queryOf(req);
    const { start, end } = period(q);
    const detailedRaw = param(q, 'detailed');
    const detailed = detailedRaw !== undefined && detailedRaw !== '' && parseBool(detailedRaw, 'detailed');
    const { rows, limit } = await rowsOf(req, q, start, end);
    const nowMs = Date.now();
    const byProject = new Map<string, ReturnType<typeof serverUsage>[]>();
    for (const r of rows) {
      const list = byProject.get(r.project_id) ?? [];
      list.push(serverUsage(r, start, end, nowMs));
      byProject.set(r.project_id, list);
    }
    const tenant_usages = [...byProject.entries()].map(([tenant_id, usages]) => ({
      tenant_id,
      start: pythonIsoTime(start.toISOString()),
      stop: pythonIsoTime(end.toISOString()),
      ...totals(usages),
      ...(detailed ? { server_usages: usages } : {}),
    }));
    const links = nextLink(req, 'os-simple-tenant-usage', rows, limit);
    return { tenant_usages, ...(links ? { tenant_usages_links: links } : {}) };
  });

  app.get('/os-simple-tenant-usage/:tenant_id', async (req) => {
    const ctx = callerOf(req);
    const projectId = pathParam(req, 'tenant_id');
    if (projectId === '') throw new NotFoundError('Project', projectId);
    if (!ctx.isAdmin && ctx.projectId !== projectId) throw new ForbiddenError("Policy doesn't allow os_compute_api:os-simple-tenant-usage:show to be performed.");
    const q = queryOf(req);
    const { start, end } = period(q);
    const { rows, limit } = await rowsOf(req, q, start, end, projectId);
    const nowMs = Date.now();
    const usages = rows.map((r) => serverUsage(r, start, end, nowMs));
    const links = nextLink(req, `os-simple-tenant-usage/${encodeURIComponent(projectId)}`, rows, limit);
    // Nova answers an empty object for a project without servers in the period.
    const tenant_usage =
      usages.length === 0
        ? {}
        : { tenant_id: projectId, start: pythonIsoTime(start.toISOString()), stop: pythonIsoTime(end.toISOString()), ...totals(usages), server_usages: usages };
    return { tenant_usage, ...(links ? { tenant_usage_links: links } : {}) };
  });

  /**
   * `os-instance_usage_audit_log` (admin): Nova's record of its periodic usage audits. Polyvisor
   * runs no usage audit (the data is what os-simple-tenant-usage computes on demand), so every
   * compute host is reported as not run for the period, which is what Nova reports before its
   * first audit.
   */
  const auditLog = async (before: Date) => {
    const hosts = (await listServices(deps.db, { binary: 'nova-compute' })).map((s) => s.host);
    // [DEFAULT] instance_usage_audit_period = month: the last whole month before `before`.
    const end = new Date(Date.UTC(before.getUTCFullYear(), before.getUTCMonth(), 1));
    const begin = new Date(Date.UTC(end.getUTCFullYear(), end.getUTCMonth() - 1, 1));
    const fmt = (d: Date) => d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, '');
    return {
      hosts_not_run: hosts,
      log: {},
      num_hosts: hosts.length,
      num_hosts_done: 0,
      num_hosts_not_run: hosts.length,
      num_hosts_running: 0,
      overall_status: `0 of ${hosts.length} hosts done. 0 errors.`,
      period_beginning: fmt(begin),
      period_ending: fmt(end),
      total_errors: 0,
      total_instances: 0,
    };
  };

  app.get('/os-instance_usage_audit_log', async (req) => {
    requireAdmin(callerOf(req), 'os_compute_api:os-instance-usage-audit-log:list');
    return { instance_usage_audit_logs: await auditLog(new Date()) };
  });

  app.get('/os-instance_usage_audit_log/:before', async (req) => {
    requireAdmin(callerOf(req), 'os_compute_api:os-instance-usage-audit-log:show');
    const raw = pathParam(req, 'before');
    const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(\.\d+)?$/.exec(raw.trim());
    const d = m ? new Date(`${m[1]}T${m[2]}Z`) : new Date(NaN);
    if (Number.isNaN(d.getTime())) throw new InvalidInputError(`Invalid timestamp for date ${raw}`);
    return { instance_usage_audit_log: await auditLog(d) };
  });
}
