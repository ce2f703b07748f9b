import type { FastifyInstance } from 'fastify';
import { PolyvisorError } from '../../../errors.js';
import { getInstanceAction, listActionEvents, listInstanceActions } from '../../../db/repos/server-queries.js';
import type { InstanceActionRow } from '../../../db/schema.js';
import type { ComputeDeps } from '../deps.js';
import { atLeast } from '../microversion.js';
import { callerOf, pathParam } from '../request.js';
import { pythonIsoTime } from '../times.js';
import { visibleServer } from './lookup.js';

function actionView(a: InstanceActionRow) {
  return {
    action: a.action,
    instance_uuid: a.instance_uuid,
    message: a.message,
    project_id: a.project_id,
    request_id: a.request_id,
    start_time: pythonIsoTime(a.start_time),
    user_id: a.user_id,
  };
}

/** `os-instance-actions`: the action log of a server (of deleted ones too from 2.21); events for admins only. */
export function instanceActionRoutes(app: FastifyInstance, deps: ComputeDeps): void {
  app.get('/servers/:server_id/os-instance-actions', async (req) => {
    const row = await visibleServer(req, deps, { includeDeleted: atLeast(req, 2, 21) });
    return { instanceActions: (await listInstanceActions(deps.db, row.uuid)).map(actionView) };
  });

  app.get('/servers/:server_id/os-instance-actions/:request_id', async (req) => {
    const row = await visibleServer(req, deps, { includeDeleted: atLeast(req, 2, 21) });
    const requestId = pathParam(req, 'request_id');
    const action = await getInstanceAction(deps.db, row.uuid, requestId);
    if (!action) throw new PolyvisorError('not_found', `Action ${requestId} not found`);
    const out: Record<string, unknown> = actionView(action);
    if (callerOf(req).isAdmin) {
      out['events'] = (await listActionEvents(deps.db, action.id)).map((e) => ({
        event: e.event,
        start_time: pythonIsoTime(e.start_time),
        finish_time: pythonIsoTime(e.finish_time),
        result: e.result,
        traceback: e.traceback,
      }));
    }
    return { instanceAction: out };
  });
}
