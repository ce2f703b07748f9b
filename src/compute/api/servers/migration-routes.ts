import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requireAdmin } from '../../../api/policy.js';
import { InvalidInputError, PolyvisorError } from '../../../errors.js';
import { releaseAllocation } from '../../../db/repos/compute-nodes.js';
import { updateInstance } from '../../../db/repos/instances.js';
import { getMigrationById, getMigrationByUuid, listMigrations, moveAllocation, updateMigration, type MigrationFilter } from '../../../db/repos/migrations.js';
import type { MigrationRow } from '../../../db/schema.js';
import { TaskState } from '../../states.js';
import type { ComputeDeps } from '../deps.js';
import { atLeast } from '../microversion.js';
import { callerOf, Linker, param, parseLimit, pathParam, queryOf, type Query } from '../request.js';
import { parseIsoTime, pythonIsoTime } from '../times.js';
import { visibleServer } from './lookup.js';

/** Live-migration statuses Nova counts as in progress (links, /servers/{id}/migrations). */
const LIVE_IN_PROGRESS = ['queued', 'accepted', 'preparing', 'running', 'post-migrating'];

function notFound(): PolyvisorError {
  return new PolyvisorError('not_found', 'The resource could not be found.');
}

/** Nova's flavor database ids by flavorid, for old/new_instance_type_id (null when the flavor is gone). */
async function flavorIds(deps: ComputeDeps, rows: readonly MigrationRow[]): Promise<Map<string, number>> {
  const ids = new Set<string>();
  for (const r of rows) for (const f of [r.old_flavor, r.new_flavor]) ids.add(flavorIdOf(f));
  ids.delete('');
  if (ids.size === 0) return new Map();
  const found = await deps.db.selectFrom('flavors').select(['id', 'flavorid']).where('flavorid', 'in', [...ids]).execute();
  return new Map(found.map((f) => [f.flavorid, f.id]));
}

function flavorIdOf(json: string): string {
  try {
    const v = JSON.parse(json) as { id?: unknown };
    return typeof v.id === 'string' ? v.id : '';
  } catch {
    return '';
  }
}

function isLiveInProgress(m: MigrationRow): boolean {
  return m.migration_type === 'live-migration' && LIVE_IN_PROGRESS.includes(m.status);
}

function listView(req: FastifyRequest, deps: ComputeDeps, m: MigrationRow, flavors: ReadonlyMap<string, number>): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: m.id,
    status: m.status,
    instance_uuid: m.instance_uuid,
    source_node: m.source_node,
    source_compute: m.source_compute,
    dest_node: m.dest_node,
    dest_compute: m.dest_compute,
    dest_host: m.dest_host,
    old_instance_type_id: flavors.get(flavorIdOf(m.old_flavor)) ?? null,
    new_instance_type_id: flavors.get(flavorIdOf(m.new_flavor)) ?? null,
    created_at: pythonIsoTime(m.created_at),
    updated_at: pythonIsoTime(m.updated_at),
  };
  if (atLeast(req, 2, 23)) {
    out['migration_type'] = m.migration_type;
    if (isLiveInProgress(m)) out['links'] = new Linker(req, deps).links(`servers/${m.instance_uuid}/migrations`, String(m.id));
  }
  if (atLeast(req, 2, 59)) out['uuid'] = m.uuid;
  if (atLeast(req, 2, 80)) {
    out['user_id'] = m.user_id;
    out['project_id'] = m.project_id;
  }
  return out;
}

function serverMigrationView(req: FastifyRequest, m: MigrationRow): Record<string, unknown> {
  const out: Record<string, unknown> = {
    created_at: pythonIsoTime(m.created_at),
    dest_compute: m.dest_compute,
    dest_host: m.dest_host,
    dest_node: m.dest_node,
    // The drivers report no transfer progress: Nova shows null then too.
    disk_processed_bytes: null,
    disk_remaining_bytes: null,
    disk_total_bytes: null,
    id: m.id,
    memory_processed_bytes: null,
    memory_remaining_bytes: null,
    memory_total_bytes: null,
    server_uuid: m.instance_uuid,
    source_compute: m.source_compute,
    source_node: m.source_node,
    status: m.status,
    updated_at: pythonIsoTime(m.updated_at),
  };
  if (atLeast(req, 2, 59)) out['uuid'] = m.uuid;
  if (atLeast(req, 2, 80)) {
    out['user_id'] = m.user_id;
    out['project_id'] = m.project_id;
  }
  return out;
}

const KNOWN_PARAMS = ['hidden', 'host', 'instance_uuid', 'source_compute', 'status', 'migration_type', 'limit', 'marker', 'changes-since', 'changes-before', 'user_id', 'project_id'];

function timeParam(q: Query, name: string): string | undefined {
  const v = param(q, name);
  if (v === undefined) return undefined;
  const t = parseIsoTime(v);
  if (t === undefined) throw new InvalidInputError(`Invalid input for query parameters ${name}. Value: ${v}. '${v}' is not a 'date-time'`);
  return t;
}

/**
 * `GET /os-migrations` (admin): every migration, newest first, filtered by host (source or
 * destination), status, instance_uuid, source_compute, migration_type; 2.59 pages with
 * limit/marker (a migration uuid) and changes-since, 2.66 changes-before, 2.80 user_id and
 * project_id. `/servers/{id}/migrations` (2.23+, admin): the server's in-progress live
 * migrations; 2.22 force_complete and 2.24 abort (DELETE) on one of them.
 */
export function migrationRoutes(app: FastifyInstance, deps: ComputeDeps): void {
  app.get('/os-migrations', async (req) => {
    requireAdmin(callerOf(req), 'os_compute_api:os-migrations:index');
    const q = queryOf(req);
    const f: { -readonly [K in keyof MigrationFilter]: MigrationFilter[K] } = {};
    const v259 = atLeast(req, 2, 59);
    if (v259) {
      const allowed = [...KNOWN_PARAMS.filter((k) => (k !== 'changes-before' || atLeast(req, 2, 66)) && ((k !== 'user_id' && k !== 'project_id') || atLeast(req, 2, 80)))];
      const extra = Object.keys(q).find((k) => !allowed.includes(k));
      if (extra !== undefined) throw new InvalidInputError(`Invalid input for query parameters ${extra}. Additional properties are not allowed ('${extra}' was unexpected)`);
    }
    const s = (k: string) => param(q, k);
    const set = (k: string, apply: (v: string) => void) => {
      const v = s(k);
      if (v !== undefined) apply(v);
    };
    set('instance_uuid', (v) => (f.instanceUuid = v));
    set('status', (v) => (f.status = v));
    set('host', (v) => (f.host = v));
    set('source_compute', (v) => (f.sourceCompute = v));
    set('migration_type', (v) => (f.type = v));
    let limit: number | undefined;
    if (v259) {
      const since = timeParam(q, 'changes-since');
      if (since !== undefined) f.changesSince = since;
      if (atLeast(req, 2, 66)) {
        const before = timeParam(q, 'changes-before');
        if (before !== undefined) f.changesBefore = before;
        if (since !== undefined && before !== undefined && before < since) {
          throw new InvalidInputError('The value of changes-since must be less than or equal to changes-before.');
        }
      }
      limit = parseLimit(q, deps.config.api.max_limit);
      f.limit = limit;
      const marker = s('marker');
      if (marker !== undefined) {
        const m = await getMigrationByUuid(deps.db, marker);
        if (!m) throw new InvalidInputError(`Marker ${marker} could not be found.`);
        f.after = m;
      }
    }
    if (atLeast(req, 2, 80)) {
      set('user_id', (v) => (f.userId = v));
      set('project_id', (v) => (f.projectId = v));
    }
    const rows = limit === 0 ? [] : await listMigrations(deps.db, f);
    const flavors = await flavorIds(deps, rows);
    const body: Record<string, unknown> = { migrations: rows.map((m) => listView(req, deps, m, flavors)) };
    const last = rows[rows.length - 1];
    if (v259 && last && limit !== undefined && rows.length === limit) body['migrations_links'] = new Linker(req, deps).next('os-migrations', q, last.uuid);
    return body;
  });

  app.get('/servers/:server_id/migrations', async (req) => {
    if (!atLeast(req, 2, 23)) throw notFound();
    requireAdmin(callerOf(req), 'os_compute_api:servers:migrations:index');
    const row = await visibleServer(req, deps);
    const rows = (await listMigrations(deps.db, { instanceUuid: row.uuid, type: 'live-migration' })).filter(isLiveInProgress);
    return { migrations: rows.map((m) => serverMigrationView(req, m)) };
  });

  app.get('/servers/:server_id/migrations/:migration_id', async (req) => {
    if (!atLeast(req, 2, 23)) throw notFound();
    requireAdmin(callerOf(req), 'os_compute_api:servers:migrations:show');
    const row = await visibleServer(req, deps);
    const m = await serverMigration(req, deps, row.uuid);
    if (!isLiveInProgress(m)) throw new PolyvisorError('not_found', `In-progress live migration ${m.id} is not found for server ${row.uuid}.`);
    return { migration: serverMigrationView(req, m) };
  });

  app.post('/servers/:server_id/migrations/:migration_id/action', async (req, reply) => {
    if (!atLeast(req, 2, 22)) throw notFound();
    requireAdmin(callerOf(req), 'os_compute_api:servers:migrations:force_complete');
    const body = req.body as Record<string, unknown> | null;
    if (!body || typeof body !== 'object' || Object.keys(body).length !== 1 || !('force_complete' in body) || body['force_complete'] !== null) {
      throw new InvalidInputError("Invalid input for field/attribute force_complete. 'force_complete' is a required property and must be null");
    }
    const row = await visibleServer(req, deps);
    const m = await serverMigration(req, deps, row.uuid);
    if (row.task_state !== TaskState.MIGRATING) throw new PolyvisorError('conflict', `Cannot 'force_complete' instance ${row.uuid} while it is in task_state ${String(row.task_state)}`);
    if (m.migration_type !== 'live-migration' || m.status !== 'running') {
      throw new InvalidInputError(`Migration ${m.id} state of instance ${row.uuid} is ${m.status}. Cannot force_complete while the migration is in this state.`);
    }
    // A live migration here has no copy phase to cut short: it completes as soon as the driver has moved it.
    return reply.status(202).send();
  });

  app.delete('/servers/:server_id/migrations/:migration_id', async (req, reply) => {
    if (!atLeast(req, 2, 24)) throw notFound();
    requireAdmin(callerOf(req), 'os_compute_api:servers:migrations:delete');
    const row = await visibleServer(req, deps);
    const m = await serverMigration(req, deps, row.uuid);
    if (m.migration_type !== 'live-migration' || !['queued', 'accepted', 'preparing'].includes(m.status)) {
      throw new InvalidInputError(`Migration ${m.id} state of instance ${row.uuid} is ${m.status}. Cannot abort live migration while the migration is in this state.`);
    }
    // Not started on the source yet: cancelled before anything moved, as Nova aborts a queued one.
    let node: string | undefined;
    const done = await deps.db.transaction().execute(async (trx) => {
      if (!(await updateMigration(trx, m.id, ['queued', 'accepted', 'preparing'], { status: 'cancelled' }))) return false;
      node = await releaseAllocation(trx, row.uuid);
      await moveAllocation(trx, m.uuid, row.uuid);
      await updateInstance(trx, row.uuid, { taskState: TaskState.MIGRATING, host: m.source_compute }, { task_state: null });
      return true;
    });
    if (!done) throw new InvalidInputError(`Migration ${m.id} state of instance ${row.uuid} changed. Cannot abort live migration while the migration is in this state.`);
    if (node !== undefined) await deps.bus.notify('nodes', node);
    return reply.status(202).send();
  });
}

async function serverMigration(req: FastifyRequest, deps: ComputeDeps, serverUuid: string): Promise<MigrationRow> {
  const raw = pathParam(req, 'migration_id');
  const id = /^\d+$/.test(raw) ? Number(raw) : NaN;
  const m = Number.isSafeInteger(id) ? await getMigrationById(deps.db, id) : undefined;
  if (!m || m.instance_uuid !== serverUuid) throw new PolyvisorError('not_found', `Migration ${raw} could not be found.`);
  return m;
}
