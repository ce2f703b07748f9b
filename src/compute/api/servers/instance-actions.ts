import type { FastifyInstance, FastifyRequest } from 'fastify';
import { InvalidInputError, PolyvisorError } from '../../../errors.js';
import { getInstanceAction, listActionEvents, listInstanceActions } from '../../../db/repos/server-queries.js';
import type { InstanceActionRow } from '../../../db/schema.js';
import type { ComputeDeps } from '../deps.js';
import { atLeast } from '../microversion.js';
import { callerOf, Linker, param, parseLimit, pathParam, queryOf } from '../request.js';
import { parseIsoTime, pythonIsoTime } from '../times.js';
import { visibleServer } from './lookup.js';
import { hostIdOf } from './server-view.js';

function actionView(req: FastifyRequest, a: InstanceActionRow) {
  return {
    action: a.action,
    instance_uuid: a.instance_uuid,
    message: a.message,
    project_id: a.project_id,
    request_id: a.request_id,
    start_time: pythonIsoTime(a.start_time),
    user_id: a.user_id,
    ...(atLeast(req, 2, 58) ? { updated_at: pythonIsoTime(a.updated_at) } : {}),
  };
}

function timeParam(req: FastifyRequest, name: string): string | undefined {
  const raw = param(queryOf(req), name);
  if (raw === undefined) return undefined;
  const t = parseIsoTime(raw);
  if (t === undefined) throw new InvalidInputError(`Invalid input for query parameters ${name}. Value: ${raw}. '${raw}' is not a 'date-time'`);
  return t;
}

/**
 * `os-instance-actions`: the action log of a server. 2.21 shows deleted servers' logs; 2.51
 * shows events to everyone (the traceback to admins only); 2.58 adds updated_at, paging by
 * request id (limit, marker) and changes-since; 2.62 an event's hostId (and host for
 * admins); 2.66 changes-before; 2.84 an event's details (the failure message).
 */
export function instanceActionRoutes(app: FastifyInstance, deps: ComputeDeps): void {
  app.get('/servers/:server_id/os-instance-actions', async (req) => {
    const row = await visibleServer(req, deps, { includeDeleted: atLeast(req, 2, 21) });
    let actions = await listInstanceActions(deps.db, row.uuid);
    if (!atLeast(req, 2, 58)) return { instanceActions: actions.map((a) => actionView(req, a)) };
    const q = queryOf(req);
    const since = timeParam(req, 'changes-since');
    const before = atLeast(req, 2, 66) ? timeParam(req, 'changes-before') : undefined;
    if (since !== undefined && before !== undefined && since > before) {
      throw new InvalidInputError('The value of changes-since must be less than or equal to changes-before.');
    }
    if (since !== undefined) actions = actions.filter((a) => a.updated_at >= since);
    if (before !== undefined) actions = actions.filter((a) => a.updated_at <= before);
    const marker = param(q, 'marker');
    if (marker !== undefined) {
      const i = actions.findIndex((a) => a.request_id === marker);
      if (i < 0) throw new InvalidInputError(`Marker ${marker} could not be found.`);
      actions = actions.slice(i + 1);
    }
    let limit: number | undefined;
    if (param(q, 'limit') !== undefined) {
      limit = parseLimit(q, deps.config.api.max_limit);
      actions = actions.slice(0, limit);
    }
    const body: Record<string, unknown> = { instanceActions: actions.map((a) => actionView(req, a)) };
    const last = actions[actions.length - 1];
    if (limit !== undefined && last && actions.length === limit) body['links'] = new Linker(req, deps).next(`servers/${row.uuid}/os-instance-actions`, q, last.request_id);
    return body;
  });

  app.get('/servers/:server_id/os-instance-actions/:request_id', async (req) => {
    const row = await visibleServer(req, deps, { includeDeleted: atLeast(req, 2, 21) });
    const requestId = pathParam(req, 'request_id');
    const action = await getInstanceAction(deps.db, row.uuid, requestId);
    if (!action) throw new PolyvisorError('not_found', `Action ${requestId} not found`);
    const out: Record<string, unknown> = actionView(req, action);
    const isAdmin = callerOf(req).isAdmin;
    if (isAdmin || atLeast(req, 2, 51)) {
      out['events'] = (await listActionEvents(deps.db, action.id)).map((e) => {
        const ev: Record<string, unknown> = {
          event: e.event,
          start_time: pythonIsoTime(e.start_time),
          finish_time: pythonIsoTime(e.finish_time),
          result: e.result,
        };
        if (isAdmin) ev['traceback'] = e.traceback;
        if (atLeast(req, 2, 62)) {
          ev['hostId'] = hostIdOf(action.project_id, e.host);
          if (isAdmin) ev['host'] = e.host ?? '';
        }
        if (atLeast(req, 2, 84)) ev['details'] = e.result === 'Error' ? e.traceback : null;
        return ev;
      });
    }
    return { instanceAction: out };
  });
}
