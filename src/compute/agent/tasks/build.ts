import { releaseAllocation } from '../../../db/repos/compute-nodes.js';
import { addInstanceFault, getInstanceMetadata, updateInstance } from '../../../db/repos/instances.js';
import type { InstanceRow } from '../../../db/schema.js';
import { now } from '../../../db/time.js';
import { PowerState, TaskState, VmState } from '../../states.js';
import { parseStringArray } from '../../scheduler/request-spec.js';
import { GuardLost, guardedTransaction, type AgentContext } from '../context.js';
import { beginEvent } from '../events.js';
import { refreshConsole } from '../console-publisher.js';
import { instanceRef, instanceSpec } from '../instance-spec.js';
import { ProgressWriter } from '../progress-writer.js';
import { faultDetails, faultMessage, isRetryable } from './failure.js';

/**
 * Builds a placed instance (task_state 'spawning'): image, spec, driver.spawn, then one
 * guarded update to ACTIVE. A retryable driver failure gives the node back and asks the
 * scheduler for another (the node joins retry_nodes); any other failure is ERROR with a
 * fault and the allocation released, as Nova's build does. If the user changed the task
 * meanwhile (a delete), the final update loses and the task loop follows the new task.
 */
export async function build(ctx: AgentContext, row: InstanceRow): Promise<void> {
  const { db, driver, signal, host } = ctx;
  const event = await beginEvent(db, row.uuid, 'create', 'compute__do_build_and_run_instance', host);
  let driverInfo: Readonly<Record<string, unknown>>;
  const progress = new ProgressWriter(ctx, row.uuid);
  try {
    const image = await ctx.images.get(row.image_ref, signal);
    const spec = instanceSpec(row, await getInstanceMetadata(db, row.uuid));
    driverInfo = (await driver.spawn(spec, image, signal, { onProgress: progress.report })).driverInfo;
  } catch (err) {
    await progress.close();
    if (signal.aborted) throw err; // stopping: recovery resumes the build at the next start
    // Events first: whoever sees the new state also sees the finished event.
    await event.finish('Error', faultDetails(err));
    if (isRetryable(err)) await reschedule(ctx, row, err);
    else await failBuild(ctx, row, faultMessage(err), faultDetails(err));
    return;
  }
  await progress.close();
  await event.finish('Success');
  // ACTIVE first: the console endpoint costs a call the user should not wait for.
  if (await finishBuild(ctx, row, driverInfo, progress.reported)) await refreshConsole(ctx, instanceRef({ ...row, driver_info: JSON.stringify(driverInfo) }));
}

/**
 * The spawn is done on the hypervisor: ACTIVE. False when the task changed meanwhile.
 * A build that reported progress ends at 100, so an ACTIVE server never shows a half-done figure.
 */
export async function finishBuild(ctx: AgentContext, row: InstanceRow, driverInfo: Readonly<Record<string, unknown>> | undefined, reportedProgress = false): Promise<boolean> {
  const t = now();
  const done = await updateInstance(
    ctx.db,
    row.uuid,
    { taskState: TaskState.SPAWNING, host: ctx.host },
    {
      vm_state: VmState.ACTIVE,
      power_state: PowerState.RUNNING,
      task_state: null,
      launched_at: t,
      ...(reportedProgress ? { progress: 100 } : {}),
      ...(driverInfo !== undefined ? { driver_info: JSON.stringify(driverInfo) } : {}),
    },
  );
  if (done) ctx.logger.info({ instance: row.uuid, node: row.node }, 'instance is active');
  return done !== undefined;
}

/** ERROR with a fault; the allocation goes back to the node in the same transaction. */
export async function failBuild(ctx: AgentContext, row: InstanceRow, message: string, details: string): Promise<void> {
  let node: string | undefined;
  const ok = await guardedTransaction(ctx.db, async (trx) => {
    node = await releaseAllocation(trx, row.uuid);
    const updated = await updateInstance(
      trx,
      row.uuid,
      { taskState: TaskState.SPAWNING, host: ctx.host },
      { vm_state: VmState.ERROR, task_state: null, power_state: PowerState.NOSTATE },
    );
    if (!updated) throw new GuardLost();
    await addInstanceFault(trx, { instanceUuid: row.uuid, code: 500, message, details, host: ctx.host });
  });
  if (!ok) return;
  ctx.logger.warn({ instance: row.uuid, node: row.node, reason: message }, 'build failed');
  if (node !== undefined) await ctx.bus.notify('nodes', node);
}

/** A retryable failure: give the node back and let the scheduler pick another one. */
async function reschedule(ctx: AgentContext, row: InstanceRow, err: unknown): Promise<void> {
  const tried = parseStringArray(row.retry_nodes);
  if (row.node !== null && !tried.includes(row.node)) tried.push(row.node);
  let node: string | undefined;
  const ok = await guardedTransaction(ctx.db, async (trx) => {
    node = await releaseAllocation(trx, row.uuid);
    const updated = await updateInstance(
      trx,
      row.uuid,
      { taskState: TaskState.SPAWNING, host: ctx.host },
      { host: null, node: null, availability_zone: null, task_state: TaskState.SCHEDULING, retry_nodes: JSON.stringify(tried), power_state: PowerState.NOSTATE, progress: 0 },
    );
    if (!updated) throw new GuardLost();
    // Nova records the failed attempt as a fault too; the final "No valid host" quotes it.
    await addInstanceFault(trx, { instanceUuid: row.uuid, code: 500, message: faultMessage(err), details: faultDetails(err), host: ctx.host });
  });
  if (!ok) return;
  ctx.logger.info({ instance: row.uuid, node: row.node, reason: faultMessage(err) }, 'build failed on this node; rescheduling');
  if (node !== undefined) await ctx.bus.notify('nodes', node);
  await ctx.bus.notify('scheduler', row.uuid);
}
