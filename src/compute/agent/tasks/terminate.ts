import { releaseAllocation } from '../../../db/repos/compute-nodes.js';
import { removeConsole } from '../../../db/repos/consoles.js';
import { addInstanceFault, updateInstance } from '../../../db/repos/instances.js';
import { listMigrations, updateMigration } from '../../../db/repos/migrations.js';
import type { InstanceRow } from '../../../db/schema.js';
import { now } from '../../../db/time.js';
import { PowerState, TaskState, VmState } from '../../states.js';
import { GuardLost, guardedTransaction, type AgentContext } from '../context.js';
import { beginEvent } from '../events.js';
import { instanceRef } from '../instance-spec.js';
import { faultDetails, faultMessage, isRetryable, RetryLater } from './failure.js';

/** How long after the user's delete an unreachable hypervisor is waited for before the delete fails (ERROR). */
export const DELETE_RETRY_WINDOW_MS = 5 * 60_000;

/**
 * Deletes a placed instance: destroy on the hypervisor (succeeds when already gone), then
 * in ONE transaction release the allocation and mark the row deleted. A failed destroy
 * leaves the server in ERROR with a fault (the user can delete again), as Nova does; one
 * that failed only because the hypervisor was unreachable is retried first (RetryLater).
 */
export async function terminate(ctx: AgentContext, row: InstanceRow): Promise<void> {
  const { db, driver, signal, host } = ctx;
  const event = await beginEvent(db, row.uuid, 'delete', 'compute_terminate_instance', host);
  try {
    await driver.destroy(instanceRef(row), signal);
  } catch (err) {
    if (signal.aborted) throw err;
    await event.finish('Error', faultDetails(err));
    // The hypervisor is unreachable (libvirtd restarting, vCenter down): the user's delete still
    // stands, so it is tried again for a while (task_state stays 'deleting') rather than ending
    // in ERROR at once; the task loop backs off between attempts.
    if (isRetryable(err) && Date.now() - Date.parse(row.updated_at) < DELETE_RETRY_WINDOW_MS) throw new RetryLater(err);
    const updated = await updateInstance(db, row.uuid, { taskState: TaskState.DELETING, host }, { vm_state: VmState.ERROR, task_state: null });
    if (updated) await addInstanceFault(db, { instanceUuid: row.uuid, code: 500, message: faultMessage(err), details: faultDetails(err), host });
    return;
  }
  // The hypervisor side is done: the event says so before the row disappears from lists.
  await event.finish('Success');
  let node: string | undefined;
  const t = now();
  const ok = await guardedTransaction(db, async (trx) => {
    node = await releaseAllocation(trx, row.uuid);
    const updated = await updateInstance(
      trx,
      row.uuid,
      { taskState: TaskState.DELETING, host },
      {
        deleted: 1,
        deleted_at: t,
        terminated_at: t,
        vm_state: VmState.DELETED,
        task_state: null,
        power_state: PowerState.NOSTATE,
        lease_owner: null,
        lease_expires_at: null,
      },
    );
    if (!updated) throw new GuardLost();
    await removeConsole(trx, row.uuid);
    await trx.deleteFrom('instance_diagnostics').where('instance_uuid', '=', row.uuid).execute();
  });
  if (ok) ctx.logger.info({ instance: row.uuid }, 'instance deleted');
  if (node !== undefined) await ctx.bus.notify('nodes', node);
  if (ok) await endMoves(ctx, row.uuid);
}

const MOVING = ['pre-migrating', 'migrating', 'post-migrating', 'accepted', 'preparing', 'running', 'reverting', 'finish-reverting'];

/**
 * A server deleted while moving: a move waiting in VERIFY_RESIZE is confirmed (its source
 * agent removes the source copy and gives its allocation back); one in flight ends in
 * 'error' and the allocation its migration held is given back here.
 */
async function endMoves(ctx: AgentContext, uuid: string): Promise<void> {
  for (const mig of await listMigrations(ctx.db, { instanceUuid: uuid })) {
    if (mig.status === 'finished') {
      if (await updateMigration(ctx.db, mig.id, ['finished'], { status: 'confirming' })) await ctx.bus.notify('instances', mig.source_compute ?? '');
    } else if (MOVING.includes(mig.status) || mig.status === 'error' || mig.status === 'failed') {
      // A failed move may still hold the source's allocation (the server went to ERROR after it left).
      let node: string | undefined;
      await ctx.db.transaction().execute(async (trx) => {
        node = await releaseAllocation(trx, mig.uuid);
        if (MOVING.includes(mig.status)) await updateMigration(trx, mig.id, undefined, { status: 'error' });
      });
      if (node !== undefined) await ctx.bus.notify('nodes', node);
    }
  }
}
