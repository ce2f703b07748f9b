import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requireAdmin } from '../../../api/policy.js';
import { ConflictError, InvalidInputError, PolyvisorError } from '../../../errors.js';
import {
  addAggregateHost,
  createAggregate,
  deleteAggregate,
  getAggregate,
  listAggregates,
  removeAggregateHost,
  setAggregateMetadata,
  updateAggregate,
  type AggregateChange,
  type AggregateRefusal,
} from '../../../db/repos/aggregates.js';
import type { ComputeDeps } from '../deps.js';
import { validateName } from '../names.js';
import { callerOf, pathParam } from '../request.js';
import { atLeast, versionOf, versionString } from '../microversion.js';
import { findUsableImage } from '../../../db/repos/images.js';
import { strictObject } from '../validation.js';

const imagesSchema = strictObject(
  { cache: { type: 'array', minItems: 1, uniqueItems: true, items: strictObject({ id: { type: 'string', format: 'uuid' } }, ['id']) } },
  ['cache'],
);
import { actionSchema, createSchema, updateSchema, type ActionBody } from './aggregate-schemas.js';
import { aggregateView } from './aggregate-view.js';

type Action = 'create' | 'update' | 'update_meta' | 'add_host' | 'remove_host' | 'delete';

/**
 * Nova's error for a refused change: status and wording per action as its aggregates
 * controller maps them (add_host conflicts are 409, zone rules elsewhere 400).
 */
function refusalError(r: AggregateRefusal, action: Action, id: string, host = ''): PolyvisorError {
  const invalid = (prefix: string, reason: string) => new InvalidInputError(`${prefix} ${id}. Reason: ${reason}.`);
  switch (r.reason) {
    case 'not_found':
      return new PolyvisorError('not_found', `Aggregate ${id} could not be found.`);
    case 'duplicate':
      return new ConflictError('An aggregate with this name already exists.');
    case 'host_not_found':
      return new PolyvisorError('not_found', action === 'remove_host' ? `Cannot remove host ${host} in aggregate ${id}` : `Compute host ${host} could not be found.`);
    case 'host_exists':
      return new ConflictError(`Aggregate ${id} already has host ${host}.`);
    case 'host_absent':
      return new PolyvisorError('not_found', `Cannot remove host ${host} in aggregate ${id}`);
    case 'not_empty':
      return invalid('Cannot remove aggregate', 'Host aggregate is not empty');
    case 'empty_zone':
    case 'zone_conflict':
    case 'instances_in_zone': {
      const reason =
        r.reason === 'empty_zone'
          ? `Aggregate ${id} does not support empty named availability zone`
          : r.reason === 'zone_conflict'
            ? `One or more hosts already in availability zone(s) [${r.zones.map((z) => `'${z}'`).join(', ')}]`
            : 'One or more hosts contain instances in this zone';
      if (action === 'add_host') return new ConflictError(`Cannot add host to aggregate ${id}. Reason: ${reason}.`);
      if (action === 'update_meta') return invalid('Cannot update metadata of aggregate', reason);
      return invalid('Cannot update aggregate', reason);
    }
  }
}

/**
 * Nova's utils.validate_integer on the path id (2.1 aggregates have integer ids). A negative
 * integer is valid there and simply names no aggregate (404, as tempest's negative tests expect).
 */
function aggregateId(req: FastifyRequest): number {
  const raw = pathParam(req, 'id');
  if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) throw new InvalidInputError(`Invalid input received: id must be an integer`);
  return Number(raw);
}

/**
 * `os-aggregates` (admin only): list, create, show, update, delete and the add_host,
 * remove_host and set_metadata actions. Changes that move hosts between zones notify
 * 'nodes' for every compute node whose zone changed, so schedulers re-read them.
 */
export function aggregateRoutes(app: FastifyInstance, deps: ComputeDeps): void {
  const admin = (req: FastifyRequest, what: string) => requireAdmin(callerOf(req), `os_compute_api:os-aggregates:${what}`);
  const defaultZone = deps.config.DEFAULT.default_availability_zone;
  const applied = async (r: AggregateChange, action: Action, id: string, host?: string) => {
    if (!r.ok) throw refusalError(r, action, id, host);
    for (const node of r.changedNodes) await deps.bus.notify('nodes', node);
    return r.aggregate;
  };

  app.get('/os-aggregates', async (req) => {
    admin(req, 'index');
    return { aggregates: (await listAggregates(deps.db)).map((a) => aggregateView(req, a)) };
  });

  app.post('/os-aggregates', { schema: { body: createSchema } }, async (req) => {
    admin(req, 'create');
    const { name, availability_zone } = (req.body as { aggregate: { name: string; availability_zone?: string | null } }).aggregate;
    validateName(name, 'name');
    if (availability_zone !== undefined && availability_zone !== null) validateName(availability_zone, 'availability_zone');
    const zone = availability_zone === undefined || availability_zone === null ? null : availability_zone;
    const r = await createAggregate(deps.db, deps.dialect, defaultZone, { name, zone });
    if (!r.ok && r.reason === 'duplicate') throw new ConflictError(`Aggregate ${name} already exists.`);
    return { aggregate: aggregateView(req, await applied(r, 'create', name), 'created') };
  });

  /**
   * 2.81: asks for images to be cached on the aggregate's hosts. Polyvisor validates the
   * request as Nova does and accepts it, but its agents fetch an image into their cache on
   * the first boot that uses it; there is no separate pre-fetch yet (documented gap).
   */
  app.post('/os-aggregates/:id/images', { schema: { body: imagesSchema } }, async (req, reply) => {
    admin(req, 'images');
    if (!atLeast(req, 2, 81)) throw new PolyvisorError('not_found', `API version ${versionString(versionOf(req))} is not supported on this method.`);
    const id = aggregateId(req);
    const a = await getAggregate(deps.db, id);
    if (!a) throw new PolyvisorError('not_found', `Aggregate ${id} could not be found.`);
    const ctx = callerOf(req);
    for (const { id: imageId } of (req.body as { cache: { id: string }[] }).cache) {
      if (!(await findUsableImage(deps.db, imageId, ctx.projectId, ctx.isAdmin))) throw new InvalidInputError(`Image ${imageId} could not be found.`);
    }
    return reply.status(202).send();
  });

  app.get('/os-aggregates/:id', async (req) => {
    admin(req, 'show');
    const id = aggregateId(req);
    const a = await getAggregate(deps.db, id);
    if (!a) throw new PolyvisorError('not_found', `Aggregate ${id} could not be found.`);
    return { aggregate: aggregateView(req, a) };
  });

  app.put('/os-aggregates/:id', { schema: { body: updateSchema } }, async (req) => {
    admin(req, 'update');
    const id = aggregateId(req);
    const body = (req.body as { aggregate: { name?: string; availability_zone?: string | null } }).aggregate;
    // Nova's update accepts (and strips) surrounding whitespace in the name.
    const name = body.name?.trim();
    if (name !== undefined) validateName(name === '' ? ' ' : name, 'name');
    if (typeof body.availability_zone === 'string') validateName(body.availability_zone, 'availability_zone');
    const r = await updateAggregate(deps.db, deps.dialect, defaultZone, id, {
      ...(name === undefined ? {} : { name }),
      ...(body.availability_zone === undefined ? {} : { zone: body.availability_zone }),
    });
    if (!r.ok && r.reason === 'duplicate') throw new ConflictError(`Aggregate ${name ?? ''} already exists.`);
    return { aggregate: aggregateView(req, await applied(r, 'update', String(id))) };
  });

  app.delete('/os-aggregates/:id', async (req, reply) => {
    admin(req, 'delete');
    const id = aggregateId(req);
    const r = await deleteAggregate(deps.db, deps.dialect, id);
    if (!r.ok) throw refusalError(r, 'delete', String(id));
    // Nova answers 200 with an empty body here (kept for backwards compatibility).
    return reply.status(200).send();
  });

  app.post('/os-aggregates/:id/action', { schema: { body: actionSchema } }, async (req) => {
    const body = req.body as ActionBody;
    if (body.add_host) {
      admin(req, 'add_host');
      const id = aggregateId(req);
      const { host } = body.add_host;
      return { aggregate: aggregateView(req, await applied(await addAggregateHost(deps.db, deps.dialect, defaultZone, id, host), 'add_host', String(id), host)) };
    }
    if (body.remove_host) {
      admin(req, 'remove_host');
      const id = aggregateId(req);
      const { host } = body.remove_host;
      return { aggregate: aggregateView(req, await applied(await removeAggregateHost(deps.db, deps.dialect, defaultZone, id, host), 'remove_host', String(id), host)) };
    }
    admin(req, 'set_metadata');
    const id = aggregateId(req);
    const metadata = body.set_metadata?.metadata ?? {};
    const zone = metadata['availability_zone'];
    if (typeof zone === 'string' && zone !== '') {
      if (zone.includes(':')) throw new InvalidInputError(`Invalid input for field/attribute availability_zone. Value: ${zone}. Availability zone names may not contain ':'.`);
      validateName(zone, 'availability_zone');
    }
    return { aggregate: aggregateView(req, await applied(await setAggregateMetadata(deps.db, deps.dialect, defaultZone, id, metadata), 'update_meta', String(id))) };
  });
}
