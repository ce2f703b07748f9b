import { releaseAllocation } from '../../../db/repos/compute-nodes.js';
import { addInstanceFault, getInstance, getInstanceMetadata, updateInstance } from '../../../db/repos/instances.js';
import { latestMigration, moveAllocation, updateMigration } from '../../../db/repos/migrations.js';
import type { InstanceRow, MigrationRow } from '../../../db/schema.js';
import { UnsupportedOperationError, type ComputeDriver, type InstanceRef } from '../../drivers/driver.js';
import { parseFlavor } from '../../scheduler/request-spec.js';
import { PowerState, TaskState, VmState } from '../../states.js';
import { GuardLost, guardedTransaction, type AgentContext } from '../context.js';
import { refreshConsole } from '../console-publisher.js';
import { beginEvent } from '../events.js';
import { instanceRef, instanceSpec } from '../instance-spec.js';
import { faultDetails, faultMessage } from './failure.js';

/**
 * Resize and cold migration (Nova's prep/resize/finish steps), their revert and confirm,
 * and live migration, split between the agents of the source and the destination. The
 * instance's `host` says whose turn it is (the task loop of that host picks it up); the
 * migration record says which step: its status moves pre-migrating → migrating →
 * post-migrating → finished (VERIFY_RESIZE) → confirming → confirmed, or → reverting →
 * finish-reverting (the destination is cleaned, the source's turn) → reverted; a live
 * migration accepted → running → completed. A step the driver does not offer (no
 * migrateDiskAndPowerOff / liveMigrate) is refused before anything moved, and the server is
 * left as it was with a failed action event; a failure after that is ERROR with a fault.
 */

const RESIZE_ACTION: Readonly<Record<string, string>> = { resize: 'resize', migration: 'migrate' };

function need<K extends keyof ComputeDriver>(driver: ComputeDriver, op: K): NonNullable<ComputeDriver[K]> {
  const f = driver[op];
  if (f === undefined) throw new UnsupportedOperationError(String(op), driver.type);
  return (f as (...args: unknown[]) => unknown).bind(driver) as NonNullable<ComputeDriver[K]>;
}

function sourceRef(row: InstanceRow, mig: MigrationRow): InstanceRef {
  return { ...instanceRef(row), node: mig.source_node ?? row.node ?? '' };
}

/** Resize / cold migration, source side (task resize_prep): stop the instance and hand it to the destination. */
export async function resizeOnSource(ctx: AgentContext, row: InstanceRow): Promise<void> {
  const { db, driver, signal, host } = ctx;
  const mig = await latestMigration(db, row.uuid, { types: ['resize', 'migration'], statuses: ['pre-migrating', 'migrating'] });
  if (!mig || mig.dest_compute === null || mig.dest_node === null) {
    await updateInstance(db, row.uuid, { taskState: TaskState.RESIZE_PREP, host }, { task_state: null });
    return;
  }
  const action = RESIZE_ACTION[mig.migration_type] ?? 'resize';
  const event = await beginEvent(db, row.uuid, action, 'compute_resize_instance', host);
  try {
    const migrate = need(driver, 'migrateDiskAndPowerOff');
    await updateMigration(db, mig.id, undefined, { status: 'migrating' });
    await migrate(instanceRef(row), { host: mig.dest_compute, node: mig.dest_node }, parseFlavor(mig.new_flavor), signal);
  } catch (err) {
    if (signal.aborted) throw err;
    await event.finish('Error', faultDetails(err));
    await rollBackMove(ctx, row, mig, err);
    return;
  }
  await event.finish('Success');
  const dest = mig.dest_compute;
  const ok = await guardedTransaction(db, async (trx) => {
    const u = await updateInstance(trx, row.uuid, { taskState: TaskState.RESIZE_PREP, host }, { host: dest, node: mig.dest_node, task_state: TaskState.RESIZE_MIGRATED, power_state: PowerState.SHUTDOWN });
    if (!u) throw new GuardLost();
    await updateMigration(trx, mig.id, undefined, { status: 'post-migrating' });
  });
  if (ok) await ctx.bus.notify('instances', dest);
}

/** Resize / cold migration, destination side (resize_migrated): the instance with its new flavor here; VERIFY_RESIZE. */
export async function finishResize(ctx: AgentContext, row: InstanceRow): Promise<void> {
  const { db, driver, signal, host } = ctx;
  const mig = await latestMigration(db, row.uuid, { types: ['resize', 'migration'], statuses: ['post-migrating'] });
  const taskState = row.task_state;
  if (!mig) {
    await updateInstance(db, row.uuid, { taskState, host }, { task_state: null, vm_state: VmState.ERROR });
    await addInstanceFault(db, { instanceUuid: row.uuid, code: 500, message: 'the migration record of this resize is missing', host });
    return;
  }
  const event = await beginEvent(db, row.uuid, RESIZE_ACTION[mig.migration_type] ?? 'resize', 'compute_finish_resize', host);
  const powerOn = mig.old_vm_state !== VmState.STOPPED;
  let driverInfo: Readonly<Record<string, unknown>>;
  try {
    const finish = need(driver, 'finishMigration');
    await updateInstance(db, row.uuid, { taskState, host }, { task_state: TaskState.RESIZE_FINISH });
    const image = await ctx.images.get(row.image_ref, signal);
    const spec = instanceSpec({ ...row, flavor: mig.new_flavor }, await getInstanceMetadata(db, row.uuid));
    driverInfo = (await finish(spec, image, { powerOn }, signal)).driverInfo;
  } catch (err) {
    if (signal.aborted) throw err;
    await event.finish('Error', faultDetails(err));
    await failMove(ctx, row, mig, err, [TaskState.RESIZE_MIGRATED, TaskState.RESIZE_FINISH]);
    return;
  }
  await event.finish('Success');
  const done = await guardedTransaction(db, async (trx) => {
    const u = await updateInstance(
      trx,
      row.uuid,
      { taskState: [TaskState.RESIZE_MIGRATED, TaskState.RESIZE_FINISH], host },
      {
        vm_state: VmState.RESIZED,
        task_state: null,
        flavor: mig.new_flavor,
        power_state: powerOn ? PowerState.RUNNING : PowerState.SHUTDOWN,
        driver_info: JSON.stringify(driverInfo),
      },
    );
    if (!u) throw new GuardLost();
    await updateMigration(trx, mig.id, undefined, { status: 'finished' });
  });
  if (done && powerOn) await refreshConsole(ctx, { ...instanceRef(row), driverInfo });
}

/** Revert (resize_reverting): the destination destroys its copy and gives the server back; the source powers its copy on again. */
export async function revertResize(ctx: AgentContext, row: InstanceRow): Promise<void> {
  const { db, driver, signal, host } = ctx;
  const mig = await latestMigration(db, row.uuid, { types: ['resize', 'migration'], statuses: ['reverting', 'finish-reverting'] });
  if (!mig || mig.source_compute === null) {
    await updateInstance(db, row.uuid, { taskState: TaskState.RESIZE_REVERTING, host }, { task_state: null });
    return;
  }
  if (mig.status === 'reverting') {
    const event = await beginEvent(db, row.uuid, 'revertResize', 'compute_revert_resize', host);
    try {
      await driver.destroy(instanceRef(row), signal);
    } catch (err) {
      if (signal.aborted) throw err;
      await event.finish('Error', faultDetails(err));
      await failMove(ctx, row, mig, err, [TaskState.RESIZE_REVERTING]);
      return;
    }
    await event.finish('Success');
    const source = mig.source_compute;
    let node: string | undefined;
    const ok = await guardedTransaction(db, async (trx) => {
      node = await releaseAllocation(trx, row.uuid);
      await moveAllocation(trx, mig.uuid, row.uuid);
      const u = await updateInstance(trx, row.uuid, { taskState: TaskState.RESIZE_REVERTING, host }, { host: source, node: mig.source_node, flavor: mig.old_flavor, driver_info: '{}' });
      if (!u) throw new GuardLost();
      await updateMigration(trx, mig.id, undefined, { status: 'finish-reverting' });
    });
    if (node !== undefined) await ctx.bus.notify('nodes', node);
    if (!ok) return;
    const again = await continueOn(ctx, row.uuid, source);
    if (!again) return;
    row = again;
  }
  const event = await beginEvent(db, row.uuid, 'revertResize', 'compute_finish_revert_resize', host);
  const powerOn = mig.old_vm_state !== VmState.STOPPED;
  try {
    await need(driver, 'finishRevertMigration')(sourceRef(row, mig), { powerOn }, signal);
  } catch (err) {
    if (signal.aborted) throw err;
    await event.finish('Error', faultDetails(err));
    await failMove(ctx, row, mig, err, [TaskState.RESIZE_REVERTING]);
    return;
  }
  await event.finish('Success');
  const done = await guardedTransaction(db, async (trx) => {
    const u = await updateInstance(
      trx,
      row.uuid,
      { taskState: TaskState.RESIZE_REVERTING, host },
      { vm_state: powerOn ? VmState.ACTIVE : VmState.STOPPED, task_state: null, power_state: powerOn ? PowerState.RUNNING : PowerState.SHUTDOWN },
    );
    if (!u) throw new GuardLost();
    await updateMigration(trx, mig.id, undefined, { status: 'reverted' });
  });
  if (done && powerOn) await refreshConsole(ctx, instanceRef(row));
}

/**
 * Confirm (a migration in 'confirming' whose source is this host): the source copy goes,
 * with the allocation the migration held there. The server leaves VERIFY_RESIZE for ACTIVE
 * or SHUTOFF. Also cleans up after a server deleted while it waited in VERIFY_RESIZE.
 */
export async function confirmResize(ctx: AgentContext, mig: MigrationRow): Promise<void> {
  const { db, driver, signal, host } = ctx;
  const row = await getInstance(db, mig.instance_uuid, { includeDeleted: true });
  const event = row ? await beginEvent(db, row.uuid, 'confirmResize', 'compute_confirm_resize', host) : undefined;
  const ref: InstanceRef = { uuid: mig.instance_uuid, node: mig.source_node ?? '', driverInfo: {} };
  try {
    await need(driver, 'confirmMigration')(ref, signal);
  } catch (err) {
    if (signal.aborted) throw err;
    await event?.finish('Error', faultDetails(err));
    await updateMigration(db, mig.id, ['confirming'], { status: 'error' });
    if (row && row.deleted === 0) await addInstanceFault(db, { instanceUuid: row.uuid, code: 500, message: faultMessage(err), details: faultDetails(err), host });
    ctx.logger.warn({ instance: mig.instance_uuid, reason: faultMessage(err) }, 'confirming a resize failed');
    return;
  }
  await event?.finish('Success');
  let node: string | undefined;
  await db.transaction().execute(async (trx) => {
    node = await releaseAllocation(trx, mig.uuid);
    await updateMigration(trx, mig.id, ['confirming'], { status: 'confirmed' });
    if (row && row.deleted === 0) {
      const running = row.power_state === PowerState.RUNNING;
      await updateInstance(trx, row.uuid, { vmState: VmState.RESIZED, taskState: null }, { vm_state: running ? VmState.ACTIVE : VmState.STOPPED });
    }
  });
  if (node !== undefined) await ctx.bus.notify('nodes', node);
}

/** Live migration (task migrating): the source sends the instance, the destination takes it over. */
export async function liveMigrate(ctx: AgentContext, row: InstanceRow): Promise<void> {
  const { db, driver, signal, host } = ctx;
  const mig = await latestMigration(db, row.uuid, { types: ['live-migration'], statuses: ['accepted', 'preparing', 'running'] });
  if (!mig || mig.dest_compute === null || mig.dest_node === null) {
    await updateInstance(db, row.uuid, { taskState: TaskState.MIGRATING, host }, { task_state: null });
    return;
  }
  if (host === mig.source_compute && row.node === mig.source_node) {
    const event = await beginEvent(db, row.uuid, 'live-migration', 'compute_live_migration', host);
    try {
      const migrate = need(driver, 'liveMigrate');
      await updateMigration(db, mig.id, undefined, { status: 'running' });
      await migrate(instanceRef(row), { host: mig.dest_compute, node: mig.dest_node }, signal);
    } catch (err) {
      if (signal.aborted) throw err;
      await event.finish('Error', faultDetails(err));
      await rollBackMove(ctx, row, mig, err, 'failed');
      return;
    }
    await event.finish('Success');
    const dest = mig.dest_compute;
    const ok = await guardedTransaction(db, async (trx) => {
      const u = await updateInstance(trx, row.uuid, { taskState: TaskState.MIGRATING, host }, { host: dest, node: mig.dest_node });
      if (!u) throw new GuardLost();
    });
    if (!ok) return;
    const again = await continueOn(ctx, row.uuid, dest);
    if (!again) return;
    row = again;
  }
  const event = await beginEvent(db, row.uuid, 'live-migration', 'compute_post_live_migration_at_destination', host);
  let driverInfo: Readonly<Record<string, unknown>>;
  try {
    const spec = instanceSpec(row, await getInstanceMetadata(db, row.uuid));
    driverInfo = (await need(driver, 'postLiveMigrationAtDestination')(spec, row.power_state as PowerState, signal)).driverInfo;
  } catch (err) {
    if (signal.aborted) throw err;
    await event.finish('Error', faultDetails(err));
    await failMove(ctx, row, mig, err, [TaskState.MIGRATING]);
    return;
  }
  await event.finish('Success');
  let node: string | undefined;
  const done = await guardedTransaction(db, async (trx) => {
    node = await releaseAllocation(trx, mig.uuid);
    const u = await updateInstance(trx, row.uuid, { taskState: TaskState.MIGRATING, host }, { task_state: null, driver_info: JSON.stringify(driverInfo) });
    if (!u) throw new GuardLost();
    await updateMigration(trx, mig.id, undefined, { status: 'completed' });
  });
  if (node !== undefined) await ctx.bus.notify('nodes', node);
  if (done) await refreshConsole(ctx, { ...instanceRef(row), driverInfo });
}

/**
 * Nothing moved yet (the source refused or failed before handing over): the destination's
 * claim goes, the source allocation returns to the instance, the task is cleared and the
 * server is as it was, with a fault saying why.
 */
async function rollBackMove(ctx: AgentContext, row: InstanceRow, mig: MigrationRow, err: unknown, status = 'error'): Promise<void> {
  const { db, driver, signal, host } = ctx;
  const state = await driver.getInstanceState(instanceRef(row), signal).catch(() => undefined);
  let node: string | undefined;
  const ok = await guardedTransaction(db, async (trx) => {
    node = await releaseAllocation(trx, row.uuid);
    await moveAllocation(trx, mig.uuid, row.uuid);
    const u = await updateInstance(trx, row.uuid, { taskState: row.task_state, host }, { task_state: null, ...(state?.exists ? { power_state: state.powerState } : {}) });
    if (!u) throw new GuardLost();
    await updateMigration(trx, mig.id, undefined, { status });
    await addInstanceFault(trx, { instanceUuid: row.uuid, code: 500, message: faultMessage(err), details: faultDetails(err), host });
  });
  if (node !== undefined) await ctx.bus.notify('nodes', node);
  if (ok) ctx.logger.warn({ instance: row.uuid, migration: mig.uuid, reason: faultMessage(err) }, 'move refused or failed; server left as it was');
}

/** A failure after the instance left its source: ERROR with a fault; the migration is 'error'. */
async function failMove(ctx: AgentContext, row: InstanceRow, mig: MigrationRow, err: unknown, tasks: readonly string[]): Promise<void> {
  const { db, host } = ctx;
  await guardedTransaction(db, async (trx) => {
    const u = await updateInstance(trx, row.uuid, { taskState: tasks, host }, { vm_state: VmState.ERROR, task_state: null });
    if (!u) throw new GuardLost();
    await updateMigration(trx, mig.id, undefined, { status: 'error' });
    await addInstanceFault(trx, { instanceUuid: row.uuid, code: 500, message: faultMessage(err), details: faultDetails(err), host });
  });
  ctx.logger.warn({ instance: row.uuid, migration: mig.uuid, reason: faultMessage(err) }, 'move failed');
}

/**
 * After a step handed the instance to `target`: wakes that host's agent and returns nothing,
 * or, when this agent is the target itself, the row as it is now, to go on with here.
 */
async function continueOn(ctx: AgentContext, uuid: string, target: string | null): Promise<InstanceRow | undefined> {
  if (target !== ctx.host) {
    if (target !== null) await ctx.bus.notify('instances', target);
    return undefined;
  }
  return getInstance(ctx.db, uuid);
}
