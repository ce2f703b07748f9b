import type { FastifyRequest } from 'fastify';
import { getInstance, startInstanceAction, updateInstance, type InstanceExpectation } from '../../../db/repos/instances.js';
import { releaseAllocation } from '../../../db/repos/compute-nodes.js';
import { deleteImage } from '../../../db/repos/images.js';
import { getSystemMetadata } from '../../../db/repos/instance-extras.js';
import type { InstanceRow } from '../../../db/schema.js';
import { now } from '../../../db/time.js';
import { TaskState, VmState } from '../../states.js';
import type { ComputeDeps } from '../deps.js';
import { callerOf } from '../request.js';
import { assertUnlocked } from './lookup.js';

/** Every task state but 'deleting': Nova lets a delete interrupt anything, a build included. */
const INTERRUPTIBLE: readonly (string | null)[] = [null, ...Object.values(TaskState).filter((t) => t !== TaskState.DELETING)];

/** What a soft delete may start from: a launched server at rest on its host (a failed, resized or shelved one is deleted at once). */
const SOFT_DELETABLE: readonly string[] = [VmState.ACTIVE, VmState.STOPPED, VmState.PAUSED, VmState.SUSPENDED, VmState.RESCUED];

/**
 * Deletes a server. With [DEFAULT] reclaim_instance_interval > 0 a launched server at rest
 * is soft-deleted instead (unless `force`, Nova's forceDelete): its agent powers it off and
 * it stays SOFT_DELETED, restorable, until the interval has passed; a second delete of a
 * SOFT_DELETED server changes nothing. Otherwise a server that never reached a host is
 * deleted here, at once (with any allocation the scheduler claimed), and a placed one's
 * agent is asked to destroy it (task_state 'deleting'). A second delete while one is
 * running changes nothing.
 */
export async function deleteServer(deps: ComputeDeps, req: FastifyRequest, initial: InstanceRow, options: { force?: boolean } = {}): Promise<void> {
  assertUnlocked(req, initial);
  if (options.force !== true && deps.config.DEFAULT.reclaim_instance_interval > 0) {
    if (initial.vm_state === VmState.SOFT_DELETED && initial.task_state === null) return;
    if (await softDelete(deps, initial, deleteAction(req, initial))) return;
  }
  // A shelved server's snapshot goes with it, as in Nova. (The API has no image store: the
  // image is deleted in the catalogue; its bits stay until the store is swept.)
  const shelvedImage = (await getSystemMetadata(deps.db, initial.uuid))['shelved_image_id'];
  if (shelvedImage !== undefined && (initial.vm_state === VmState.SHELVED || initial.vm_state === VmState.SHELVED_OFFLOADED)) await deleteImage(deps.db, shelvedImage);
  const action = deleteAction(req, initial);
  let row: InstanceRow | undefined = initial;
  // A placement can land between our read and our write: then the row has a host and we take the other path.
  for (let attempt = 0; attempt < 3 && row; attempt++) {
    if (row.task_state === TaskState.DELETING) return;
    const current: InstanceRow = row;
    if (current.host === null) {
      const done = await deps.db.transaction().execute(async (trx) => {
        const t = now();
        const deleted = await updateInstance(
          trx,
          current.uuid,
          { host: null, taskState: INTERRUPTIBLE },
          { deleted: 1, deleted_at: t, vm_state: VmState.DELETED, task_state: null, terminated_at: t },
        );
        if (!deleted) return false;
        await releaseAllocation(trx, current.uuid);
        await startInstanceAction(trx, action);
        return true;
      });
      if (done) return;
    } else {
      if (await handToAgent(deps, current, { host: current.host, taskState: INTERRUPTIBLE }, TaskState.DELETING, action)) return;
    }
    row = await getInstance(deps.db, initial.uuid);
  }
}

type DeleteAction = Parameters<typeof startInstanceAction>[1];

function deleteAction(req: FastifyRequest, row: InstanceRow): DeleteAction {
  const ctx = callerOf(req);
  return { instanceUuid: row.uuid, action: 'delete', requestId: req.id, userId: ctx.userId, projectId: ctx.projectId ?? row.project_id };
}

/** One transaction: the guarded task change and the user's delete action; then the host's agent is woken. True when it took. */
async function handToAgent(deps: ComputeDeps, row: InstanceRow, expected: InstanceExpectation & { host: string }, task: string, action: DeleteAction): Promise<boolean> {
  const done = await deps.db.transaction().execute(async (trx) => {
    if (!(await updateInstance(trx, row.uuid, expected, { task_state: task }))) return false;
    await startInstanceAction(trx, action);
    return true;
  });
  if (done) await deps.bus.notify('instances', expected.host);
  return done;
}

/** Nova's soft_delete: true when the server was handed to its agent to power off (task 'soft-deleting'). */
function softDelete(deps: ComputeDeps, row: InstanceRow, action: DeleteAction): Promise<boolean> {
  const host = row.host;
  if (host === null || row.launched_at === null || row.task_state !== null || !SOFT_DELETABLE.includes(row.vm_state)) return Promise.resolve(false);
  return handToAgent(deps, row, { host, vmState: SOFT_DELETABLE, taskState: null }, TaskState.SOFT_DELETING, action);
}
