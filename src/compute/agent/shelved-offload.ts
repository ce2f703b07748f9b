import { getSystemMetadata } from '../../db/repos/instance-extras.js';
import { startInstanceAction, updateInstance } from '../../db/repos/instances.js';
import { TaskState, VmState } from '../states.js';
import type { AgentContext } from './context.js';

/**
 * Nova's _poll_shelved_instances: with [DEFAULT] shelved_offload_time > 0, a server SHELVED
 * on this host for longer than that is handed to the offload task (task
 * 'shelving_offloading', a shelveOffload action, as Nova records it). Returns how many.
 */
export async function offloadExpiredShelved(ctx: AgentContext, nowMs = Date.now()): Promise<number> {
  const seconds = ctx.config.DEFAULT.shelved_offload_time;
  if (seconds <= 0) return 0;
  const rows = await ctx.db
    .selectFrom('instances')
    .select(['uuid', 'version', 'project_id', 'user_id'])
    .where('host', '=', ctx.host)
    .where('deleted', '=', 0)
    .where('vm_state', '=', VmState.SHELVED)
    .where('task_state', 'is', null)
    .execute();
  let n = 0;
  for (const row of rows) {
    const shelvedAt = Date.parse((await getSystemMetadata(ctx.db, row.uuid))['shelved_at'] ?? '');
    if (Number.isNaN(shelvedAt) || shelvedAt + seconds * 1000 > nowMs) continue;
    const started = await ctx.db.transaction().execute(async (trx) => {
      const updated = await updateInstance(trx, row.uuid, { vmState: VmState.SHELVED, taskState: null, host: ctx.host, version: row.version }, { task_state: TaskState.SHELVING_OFFLOADING });
      if (!updated) return false;
      await startInstanceAction(trx, { instanceUuid: row.uuid, action: 'shelveOffload', requestId: `req-shelved-poll-${row.uuid}`, userId: row.user_id, projectId: row.project_id });
      return true;
    });
    if (started) n++;
  }
  return n;
}
