import type { InstanceRow } from '../../../db/schema.js';
import { TaskState } from '../../states.js';
import type { AgentContext } from '../context.js';
import { build } from './build.js';
import { POWER_TASKS, runPowerTask } from './power.js';
import { terminate } from './terminate.js';

/** The task states the agent works on: the ones the API (or the scheduler) hands it. */
export const AGENT_TASKS: readonly string[] = [TaskState.SPAWNING, TaskState.DELETING, ...Object.keys(POWER_TASKS)];

/** Does the work the instance's task_state asks for. */
export async function runTask(ctx: AgentContext, row: InstanceRow): Promise<void> {
  const task = row.task_state;
  if (task === TaskState.SPAWNING) return build(ctx, row);
  if (task === TaskState.DELETING) return terminate(ctx, row);
  const power = task === null ? undefined : POWER_TASKS[task];
  if (power) return runPowerTask(ctx, row, power);
}
