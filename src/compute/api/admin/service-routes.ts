import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requireAdmin } from '../../../api/policy.js';
import { ConflictError, InvalidInputError, PolyvisorError } from '../../../errors.js';
import { countInstancesOnHost, deleteService, findService, getServiceById, listServices, updateServiceStatus } from '../../../db/repos/compute-admin.js';
import { zonedHosts } from '../../../db/repos/aggregates.js';
import type { ServiceRow } from '../../../db/schema.js';
import { isServiceUp } from '../../service-status.js';
import type { ComputeDeps } from '../deps.js';
import { atLeast, versionOf, versionString } from '../microversion.js';
import { callerOf, param, parseBool, pathParam, queryOf } from '../request.js';
import { pythonIsoTime } from '../times.js';
import { strictObject } from '../validation.js';
import { INTERNAL_ZONE } from './zones.js';

const hostBinary = { host: { type: 'string', minLength: 1, maxLength: 255 }, binary: { type: 'string', minLength: 1, maxLength: 255 } };
const enableSchema = strictObject(hostBinary, ['host', 'binary']);
// Nova's parameter_types.boolean: a JSON boolean or one of oslo's boolean strings.
const boolish = { anyOf: [{ type: 'boolean' }, { type: 'string', enum: ['1', '0', 't', 'f', 'true', 'false', 'on', 'off', 'y', 'n', 'yes', 'no', 'True', 'False'] }] };
const forceDownSchema = strictObject({ ...hostBinary, forced_down: boolish }, ['host', 'binary', 'forced_down']);
const updateSchema = strictObject({ status: { type: 'string', enum: ['enabled', 'disabled'] }, disabled_reason: { type: 'string', minLength: 1, maxLength: 255 }, forced_down: boolish });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const disableLogSchema = strictObject({ ...hostBinary, disabled_reason: { type: 'string', minLength: 1, maxLength: 255 } }, ['host', 'binary', 'disabled_reason']);

/** `os-services` (admin): list, enable, disable, disable-log-reason, delete; 2.11 adds `forced_down` and force-down. */
export function serviceRoutes(app: FastifyInstance, deps: ComputeDeps): void {
  const admin = (req: FastifyRequest, what: string) => requireAdmin(callerOf(req), `os_compute_api:os-services:${what}`);

  /** A compute service's zone: that of its host's aggregates, else the default zone. */
  const zones = async (): Promise<Map<string, string>> => zonedHosts(deps.db);
  const view = (req: FastifyRequest, s: ServiceRow, zoneOf: ReadonlyMap<string, string>) => ({
    id: atLeast(req, 2, 53) ? s.uuid : s.id,
    binary: s.binary,
    host: s.host,
    zone: s.binary === 'nova-compute' ? (zoneOf.get(s.host) ?? deps.config.DEFAULT.default_availability_zone) : INTERNAL_ZONE,
    status: s.disabled === 1 ? 'disabled' : 'enabled',
    state: isServiceUp(s, deps.config.DEFAULT.service_down_time) ? 'up' : 'down',
    updated_at: pythonIsoTime(s.last_seen_at ?? s.updated_at),
    disabled_reason: s.disabled_reason,
    ...(atLeast(req, 2, 11) ? { forced_down: s.forced_down === 1 } : {}),
  });

  app.get('/os-services', async (req) => {
    admin(req, 'list');
    const q = queryOf(req);
    const filter: { host?: string; binary?: string } = {};
    const host = param(q, 'host');
    const binary = param(q, 'binary');
    if (host !== undefined) filter.host = host;
    if (binary !== undefined) filter.binary = binary;
    const [rows, zoneOf] = await Promise.all([listServices(deps.db, filter), zones()]);
    return { services: rows.map((s) => view(req, s, zoneOf)) };
  });

  // 2.53 replaces these with PUT /os-services/{service_uuid}: 404 from then on.
  const before253 = async (req: FastifyRequest) => {
    if (atLeast(req, 2, 53)) throw new PolyvisorError('not_found', `API version ${versionString(versionOf(req))} is not supported on this method.`);
  };

  const target = async (host: string, binary: string): Promise<ServiceRow> => {
    const s = await findService(deps.db, host, binary);
    if (!s) throw new PolyvisorError('not_found', `Service ${binary} on host ${host} could not be found.`);
    return s;
  };

  app.put('/os-services/enable', { schema: { body: enableSchema }, preValidation: before253 }, async (req) => {
    admin(req, 'update');
    const { host, binary } = req.body as { host: string; binary: string };
    const s = await target(host, binary);
    await updateServiceStatus(deps.db, s.id, { disabled: 0, disabled_reason: null });
    return { service: { host, binary, status: 'enabled' } };
  });

  app.put('/os-services/disable', { schema: { body: enableSchema }, preValidation: before253 }, async (req) => {
    admin(req, 'update');
    const { host, binary } = req.body as { host: string; binary: string };
    const s = await target(host, binary);
    await updateServiceStatus(deps.db, s.id, { disabled: 1, disabled_reason: null });
    return { service: { host, binary, status: 'disabled' } };
  });

  // Before 2.11 the URL does not exist: answer 404 before the body is even validated.
  const since211 = async (req: FastifyRequest) => {
    if (!atLeast(req, 2, 11)) throw new PolyvisorError('not_found', 'The resource could not be found.');
  };
  app.put('/os-services/force-down', { schema: { body: forceDownSchema }, preValidation: [since211, before253] }, async (req) => {
    admin(req, 'update');
    const { host, binary, forced_down } = req.body as { host: string; binary: string; forced_down: boolean | string };
    const down = typeof forced_down === 'boolean' ? forced_down : parseBool(forced_down, 'forced_down');
    const s = await target(host, binary);
    await updateServiceStatus(deps.db, s.id, { forced_down: down ? 1 : 0 });
    return { service: { host, binary, forced_down: down } };
  });

  app.put('/os-services/disable-log-reason', { schema: { body: disableLogSchema }, preValidation: before253 }, async (req) => {
    admin(req, 'update');
    const { host, binary, disabled_reason } = req.body as { host: string; binary: string; disabled_reason: string };
    const s = await target(host, binary);
    await updateServiceStatus(deps.db, s.id, { disabled: 1, disabled_reason });
    return { service: { host, binary, status: 'disabled', disabled_reason } };
  });

  /** The service in the path: an integer id before 2.53, its uuid from then on. */
  const byId = async (req: FastifyRequest): Promise<ServiceRow> => {
    const raw = pathParam(req, 'id');
    let s: ServiceRow | undefined;
    if (atLeast(req, 2, 53)) {
      if (!UUID.test(raw)) throw new InvalidInputError(`Invalid uuid ${raw}`);
      s = (await listServices(deps.db)).find((x) => x.uuid === raw);
    } else {
      if (!/^\d+$/.test(raw)) throw new InvalidInputError(`Invalid service id ${raw}: an integer was expected at this microversion.`);
      s = await getServiceById(deps.db, Number(raw));
    }
    if (!s) throw new PolyvisorError('not_found', `Service ${raw} could not be found.`);
    return s;
  };

  app.put('/os-services/:id', { schema: { body: updateSchema } }, async (req) => {
    admin(req, 'update');
    if (!atLeast(req, 2, 53)) throw new PolyvisorError('not_found', 'The resource could not be found.');
    const body = req.body as { status?: 'enabled' | 'disabled'; disabled_reason?: string; forced_down?: boolean | string };
    if (body.status === undefined && body.forced_down === undefined) throw new InvalidInputError("At least one of 'status' or 'forced_down' must be specified.");
    if (body.disabled_reason !== undefined && body.status !== 'disabled') throw new InvalidInputError("Specifying 'disabled_reason' with status other than 'disabled' is invalid.");
    const s = await byId(req);
    if (s.binary !== 'nova-compute') throw new InvalidInputError(`Updating a ${s.binary} service is not supported. Only nova-compute services can be updated.`);
    const set: { disabled?: 0 | 1; disabled_reason?: string | null; forced_down?: 0 | 1 } = {};
    if (body.status !== undefined) {
      set.disabled = body.status === 'disabled' ? 1 : 0;
      set.disabled_reason = body.status === 'disabled' ? (body.disabled_reason ?? null) : null;
    }
    if (body.forced_down !== undefined) set.forced_down = (typeof body.forced_down === 'boolean' ? body.forced_down : parseBool(body.forced_down, 'forced_down')) ? 1 : 0;
    const updated = (await updateServiceStatus(deps.db, s.id, set)) ?? s;
    return { service: view(req, updated, await zones()) };
  });

  app.delete('/os-services/:id', async (req, reply) => {
    admin(req, 'delete');
    const s = await byId(req);
    if (s.binary === 'nova-compute' && (await countInstancesOnHost(deps.db, s.host)) > 0) {
      throw new ConflictError('Unable to delete compute service that is hosting instances. Migrate or delete the instances first.');
    }
    await deleteService(deps.db, s.id);
    return reply.status(204).send();
  });
}
