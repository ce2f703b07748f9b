import { updateInstance } from '../../db/repos/instances.js';
import { TaskState, VmState } from '../states.js';
import type { AgentContext } from './context.js';

/**
 * Nova's _reclaim_queued_deletes: with [DEFAULT] reclaim_instance_interval > 0, a server
 * SOFT_DELETED on this host for longer than that (since its terminated_at) is handed to the
 * delete task, under the user's delete action. Returns how many.
 */
export async function reclaimSoftDeleted(ctx: AgentContext, nowMs = Date.now()): Promise<number> {
  const seconds = ctx.config.DEFAULT.reclaim_instance_interval;
  if (seconds <= 0) return 0;
  const rows = await ctx.db
    .selectFrom('instances')
    .select(['uuid', 'version'])
    .where('host', '=', ctx.host)
    .where('deleted', '=', 0)
    .where('vm_state', '=', VmState.SOFT_DELETED)
    .where('task_state', 'is', null)
    .where('terminated_at', '<=', new Date(nowMs - seconds * 1000).toISOString())
    .execute();
  let n = 0;
  for (const row of rows) {
    const updated = await updateInstance(ctx.db, row.uuid, { vmState: VmState.SOFT_DELETED, taskState: null, host: ctx.host, version: row.version }, { task_state: TaskState.DELETING });
    if (updated) {
      n++;
      ctx.logger.info({ instance: row.uuid, reclaim_instance_interval: seconds }, 'reclaiming a soft-deleted server');
    }
  }
  return n;
}
