import { pendingDiagnostics } from '../../../db/repos/diagnostics.js';
import { migrationsForSource } from '../../../db/repos/migrations.js';
import type { InstanceRow } from '../../../db/schema.js';
import { TaskState, VmState } from '../../states.js';
import type { AgentContext } from '../context.js';
import { build } from './build.js';
import { answerDiagnosticsRequest } from './diagnostics.js';
import { confirmResize, finishResize, liveMigrate, resizeOnSource, revertResize } from './moves.js';
import { POWER_TASKS, runPowerTask } from './power.js';
import { rebuild } from './rebuild.js';
import { changePasswordTask, crashDumpTask, rescueTask, unrescueTask } from './rescue.js';
import { offloadTask, shelveTask, unshelveOnHost, unshelveSpawn } from './shelve.js';
import { SNAPSHOT_TASKS, snapshotTask } from './snapshot.js';
import { terminate } from './terminate.js';

type Task = (ctx: AgentContext, row: InstanceRow) => Promise<void>;

/** Tasks of the moves (rebuild, resize, migrations) and the step that runs them. */
const MOVE_TASKS: Readonly<Record<string, Task>> = {
  [TaskState.REBUILDING]: rebuild,
  [TaskState.REBUILD_SPAWNING]: rebuild,
  [TaskState.RESIZE_PREP]: resizeOnSource,
  [TaskState.RESIZE_MIGRATED]: finishResize,
  [TaskState.RESIZE_FINISH]: finishResize,
  [TaskState.RESIZE_REVERTING]: revertResize,
  [TaskState.MIGRATING]: liveMigrate,
};

/**
 * Tasks of shelve, snapshots, rescue and guest actions, by the task_state the API sets; the
 * steps of snapshots and shelve too, so that recovery resumes an upload a restart
 * interrupted (each re-runs from the start: power off and snapshot are idempotent).
 */
const GUEST_TASKS: Readonly<Record<string, Task>> = {
  ...Object.fromEntries(SNAPSHOT_TASKS.map((t) => [t, snapshotTask])),
  [TaskState.SHELVING]: shelveTask,
  [TaskState.SHELVING_IMAGE_PENDING_UPLOAD]: shelveTask,
  [TaskState.SHELVING_IMAGE_UPLOADING]: shelveTask,
  [TaskState.SHELVING_OFFLOADING]: offloadTask,
  [TaskState.UNSHELVING]: unshelveOnHost,
  [TaskState.RESCUING]: rescueTask,
  [TaskState.UNRESCUING]: unrescueTask,
  [TaskState.UPDATING_PASSWORD]: changePasswordTask,
  [TaskState.CRASH_DUMPING]: crashDumpTask,
};

/** The task states the agent works on: the ones the API (or the scheduler) hands it. */
export const AGENT_TASKS: readonly string[] = [
  TaskState.SPAWNING, TaskState.DELETING, ...Object.keys(POWER_TASKS), ...Object.keys(MOVE_TASKS), ...Object.keys(GUEST_TASKS),
];

/** Does the work the instance's task_state asks for. */
export async function runTask(ctx: AgentContext, row: InstanceRow): Promise<void> {
  const task = row.task_state;
  if (task === TaskState.SPAWNING) return row.vm_state === VmState.SHELVED_OFFLOADED ? unshelveSpawn(ctx, row) : build(ctx, row);
  if (task === TaskState.DELETING) return terminate(ctx, row);
  const power = task === null ? undefined : POWER_TASKS[task];
  if (power) return runPowerTask(ctx, row, power);
  const other = task === null ? undefined : (MOVE_TASKS[task] ?? GUEST_TASKS[task]);
  if (other) return other(ctx, row);
}

/**
 * Work not driven by an instance's task_state: confirms this host owes as the source of a
 * move (the instance lives elsewhere now) and diagnostics requests for its instances.
 */
export async function sideWork(ctx: AgentContext): Promise<{ instanceUuid: string; what: string; run: () => Promise<void> }[]> {
  const migrations = await migrationsForSource(ctx.db, ctx.host, ['confirming']);
  const diagnostics = await pendingDiagnostics(ctx.db, ctx.host);
  return [
    ...migrations.map((m) => ({ instanceUuid: m.instance_uuid, what: 'confirm', run: () => confirmResize(ctx, m) })),
    ...diagnostics.map((uuid) => ({ instanceUuid: uuid, what: 'diagnostics', run: () => answerDiagnosticsRequest(ctx, uuid) })),
  ];
}
