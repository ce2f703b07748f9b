import { addInstanceFault, updateInstance } from '../../db/repos/instances.js';
import { PowerState, TaskState, VmState } from '../states.js';
import { refreshConsole } from './console-publisher.js';
import type { AgentContext } from './context.js';
import { instanceRef } from './instance-spec.js';
import { finishBuild } from './tasks/build.js';
import { AGENT_TASKS } from './tasks/dispatch.js';

/**
 * Start-up recovery (Nova's init_host): everything this host owns in a transitional state
 * is resumed. A build the hypervisor finished is finished; any other build and every
 * action the agent knows are left to the task loop, which re-runs them (each is
 * idempotent). A task the agent cannot resume, or a building instance with no task, ends
 * with a fault "interrupted by a restart" (ERROR when it was building), so no instance
 * stays in BUILD or in a task forever.
 */
export async function recover(ctx: AgentContext): Promise<{ finished: number; resumed: number; failed: number }> {
  const { db, host } = ctx;
  const rows = await db
    .selectFrom('instances')
    .selectAll()
    .where('host', '=', host)
    .where('deleted', '=', 0)
    .where((eb) => eb.or([eb('task_state', 'is not', null), eb('vm_state', '=', VmState.BUILDING)]))
    .execute();
  const counts = { finished: 0, resumed: 0, failed: 0 };
  for (const row of rows) {
    if (row.task_state === TaskState.SPAWNING) {
      const state = await ctx.driver.getInstanceState(instanceRef(row), ctx.signal);
      if (state.exists && state.powerState === PowerState.RUNNING && (await finishBuild(ctx, row, undefined))) {
        counts.finished++;
        await refreshConsole(ctx, instanceRef(row));
      } else counts.resumed++;
      continue;
    }
    if (row.task_state !== null && AGENT_TASKS.includes(row.task_state)) {
      counts.resumed++;
      continue;
    }
    const building = row.vm_state === VmState.BUILDING;
    const message = `${row.task_state ?? 'build'} of instance ${row.uuid} was interrupted by a restart of compute host ${host}`;
    const updated = await updateInstance(db, row.uuid, { taskState: row.task_state, version: row.version }, { task_state: null, ...(building ? { vm_state: VmState.ERROR } : {}) });
    if (updated) {
      await addInstanceFault(db, { instanceUuid: row.uuid, code: 500, message, host });
      counts.failed++;
    }
  }
  if (rows.length > 0) ctx.logger.info(counts, 'recovered instances after start');
  return counts;
}
