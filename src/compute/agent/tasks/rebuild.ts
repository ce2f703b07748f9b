import { releaseAllocation } from '../../../db/repos/compute-nodes.js';
import { addInstanceFault, getInstanceMetadata, updateInstance } from '../../../db/repos/instances.js';
import { latestMigration, updateMigration } from '../../../db/repos/migrations.js';
import type { InstanceRow } from '../../../db/schema.js';
import { now } from '../../../db/time.js';
import { PowerState, TaskState, VmState } from '../../states.js';
import type { AgentContext } from '../context.js';
import { refreshConsole } from '../console-publisher.js';
import { beginEvent } from '../events.js';
import { instanceRef, instanceSpec } from '../instance-spec.js';
import { faultDetails, faultMessage } from './failure.js';

const REBUILD_TASKS: readonly string[] = [TaskState.REBUILDING, TaskState.REBUILD_SPAWNING];

/**
 * Rebuild (and evacuate, which is a rebuild on another host): Nova's default for drivers
 * without a rebuild of their own — destroy the instance (a no-op when it is not there, as
 * on an evacuation's destination), spawn it again from the instance's (new) image, and power
 * it off again when it was stopped. Ends in ACTIVE or SHUTOFF; a failure is ERROR with a
 * fault, as Nova leaves a failed rebuild. An evacuation's migration record ends 'done' or 'failed'.
 */
export async function rebuild(ctx: AgentContext, row: InstanceRow): Promise<void> {
  const { db, driver, signal, host } = ctx;
  const evacuation = await latestMigration(db, row.uuid, { types: ['evacuation'], statuses: ['accepted', 'pre-migrating'] });
  const isEvacuation = evacuation !== undefined && evacuation.dest_compute === host;
  const event = await beginEvent(db, row.uuid, isEvacuation ? 'evacuate' : 'rebuild', 'compute_rebuild_instance', host);
  const stopped = isEvacuation ? evacuation.old_vm_state === VmState.STOPPED : row.vm_state === VmState.STOPPED;
  let driverInfo: Readonly<Record<string, unknown>>;
  try {
    const image = await ctx.images.get(row.image_ref, signal);
    if (row.task_state === TaskState.REBUILDING) {
      await driver.destroy(instanceRef(row), signal);
      const moved = await updateInstance(db, row.uuid, { taskState: TaskState.REBUILDING, host }, { task_state: TaskState.REBUILD_SPAWNING, power_state: PowerState.NOSTATE });
      if (!moved) return;
      row = moved;
    }
    const spec = instanceSpec(row, await getInstanceMetadata(db, row.uuid));
    driverInfo = (await driver.spawn(spec, image, signal)).driverInfo;
    if (stopped) await driver.powerOff({ ...instanceRef(row), driverInfo }, { timeoutSeconds: 0 }, signal);
  } catch (err) {
    if (signal.aborted) throw err;
    await event.finish('Error', faultDetails(err));
    const updated = await updateInstance(db, row.uuid, { taskState: REBUILD_TASKS, host }, { vm_state: VmState.ERROR, task_state: null, power_state: PowerState.NOSTATE });
    if (updated) await addInstanceFault(db, { instanceUuid: row.uuid, code: 500, message: faultMessage(err), details: faultDetails(err), host });
    if (isEvacuation) await updateMigration(db, evacuation.id, undefined, { status: 'failed' });
    ctx.logger.warn({ instance: row.uuid, reason: faultMessage(err) }, isEvacuation ? 'evacuation failed' : 'rebuild failed');
    return;
  }
  await event.finish('Success');
  const done = await updateInstance(
    db,
    row.uuid,
    { taskState: REBUILD_TASKS, host },
    {
      vm_state: stopped ? VmState.STOPPED : VmState.ACTIVE,
      power_state: stopped ? PowerState.SHUTDOWN : PowerState.RUNNING,
      task_state: null,
      launched_at: now(),
      progress: 0,
      driver_info: JSON.stringify(driverInfo),
    },
  );
  if (isEvacuation) {
    // The source host is down: its copy is left for it (Nova destroys it when that host comes
    // back); its allocation, held by the migration, is given back now.
    let node: string | undefined;
    await db.transaction().execute(async (trx) => {
      node = await releaseAllocation(trx, evacuation.uuid);
      await updateMigration(trx, evacuation.id, undefined, { status: 'done' });
    });
    if (node !== undefined) await ctx.bus.notify('nodes', node);
  }
  if (done && !stopped) await refreshConsole(ctx, instanceRef(done));
  ctx.logger.info({ instance: row.uuid }, isEvacuation ? 'instance evacuated' : 'instance rebuilt');
}
