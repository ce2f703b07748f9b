import type { FastifyRequest } from 'fastify';
import { canSee } from '../../../api/policy.js';
import { ConflictError, PolyvisorError } from '../../../errors.js';
import { getInstance } from '../../../db/repos/instances.js';
import type { InstanceRow } from '../../../db/schema.js';
import type { ComputeDeps } from '../deps.js';
import { callerOf, pathParam } from '../request.js';

/** The server in the path, or Nova's 404 when it does not exist or belongs to another project. */
export async function visibleServer(req: FastifyRequest, deps: ComputeDeps, options: { includeDeleted?: boolean } = {}): Promise<InstanceRow> {
  const id = pathParam(req, 'server_id');
  const row = await getInstance(deps.db, id, { includeDeleted: options.includeDeleted ?? false });
  if (!row || !canSee(callerOf(req), row.project_id)) throw new PolyvisorError('not_found', `Instance ${id} could not be found.`);
  return row;
}

/** Nova's 409 for an action the server's state does not allow. */
export function invalidState(action: string, row: Pick<InstanceRow, 'uuid' | 'vm_state' | 'task_state'>, attr: 'vm_state' | 'task_state'): ConflictError {
  const state = attr === 'vm_state' ? row.vm_state : String(row.task_state);
  return new ConflictError(`Cannot '${action}' instance ${row.uuid} while it is in ${attr} ${state}`);
}

/** A locked server refuses changes from anyone but an admin. */
export function assertUnlocked(req: FastifyRequest, row: InstanceRow): void {
  if (row.locked === 1 && !callerOf(req).isAdmin) throw new ConflictError(`Instance ${row.uuid} is locked`);
}
