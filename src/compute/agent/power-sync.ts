import { startInstanceAction, updateInstance } from '../../db/repos/instances.js';
import { PowerState, TaskState, VmState } from '../states.js';
import type { AgentContext } from './context.js';

/**
 * Nova's _sync_power_states: one bulk listInstanceStates call, then for every instance on
 * this host with no task in progress, record the hypervisor's power state and apply Nova's
 * rules: an ACTIVE instance found shut down, crashed or suspended, a STOPPED one found
 * running, a PAUSED one found shut down, is stopped through the normal stop task (with a
 * 'stop' action, as Nova calls its stop API). Returns how many instances it changed.
 */
export async function syncPowerStates(ctx: AgentContext): Promise<number> {
  const { db, host } = ctx;
  const states = await ctx.driver.listInstanceStates(ctx.signal);
  const rows = await db
    .selectFrom('instances')
    .select(['uuid', 'vm_state', 'task_state', 'power_state', 'version', 'project_id', 'user_id'])
    .where('host', '=', host)
    .where('deleted', '=', 0)
    .where('task_state', 'is', null)
    .execute();
  let changed = 0;
  for (const row of rows) {
    const p = states.get(row.uuid)?.powerState ?? PowerState.NOSTATE;
    const stop = mustStop(row.vm_state, p);
    if (p === row.power_state && !stop) continue;
    const updated = await updateInstance(
      db,
      row.uuid,
      { taskState: null, version: row.version, host },
      { power_state: p, ...(stop ? { task_state: TaskState.POWERING_OFF } : {}) },
    );
    if (!updated) continue; // someone acted meanwhile: their task wins
    changed++;
    if (stop) {
      ctx.logger.warn({ instance: row.uuid, vm_state: row.vm_state, power_state: p }, 'power state differs from the hypervisor: stopping');
      await startInstanceAction(db, { instanceUuid: row.uuid, action: 'stop', requestId: `req-power-sync-${row.uuid}`, userId: row.user_id, projectId: row.project_id });
    }
  }
  return changed;
}

function mustStop(vmState: string, p: number): boolean {
  const down = p === PowerState.SHUTDOWN || p === PowerState.CRASHED;
  if (vmState === VmState.ACTIVE) return down || p === PowerState.SUSPENDED;
  if (vmState === VmState.STOPPED) return !(down || p === PowerState.NOSTATE);
  if (vmState === VmState.PAUSED) return down;
  return false;
}
