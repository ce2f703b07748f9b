import { addInstanceFault, updateInstance } from '../../../db/repos/instances.js';
import type { InstanceRow, InstanceUpdate } from '../../../db/schema.js';
import { now } from '../../../db/time.js';
import { UnsupportedOperationError, type ComputeDriver, type InstanceRef } from '../../drivers/driver.js';
import { PowerState, TaskState, VmState } from '../../states.js';
import type { AgentContext } from '../context.js';
import { refreshConsole } from '../console-publisher.js';
import { beginEvent } from '../events.js';
import { instanceRef } from '../instance-spec.js';
import { faultDetails, faultMessage } from './failure.js';

/** One power action: its instance action and event names, the driver call and the end state. */
export interface PowerTask {
  readonly action: string;
  readonly event: string;
  run(driver: ComputeDriver, ref: InstanceRef, signal: AbortSignal): Promise<void>;
  readonly vmState: VmState;
  readonly powerState: PowerState;
  /** Other fields the success sets (soft delete's terminated_at: the reclaim clock starts). */
  readonly also?: () => Pick<InstanceUpdate, 'terminated_at'>;
}

const reboot = (kind: 'SOFT' | 'HARD'): PowerTask => ({
  action: 'reboot',
  event: 'compute_reboot_instance',
  run: (d, r, s) => d.reboot(r, kind, s),
  vmState: VmState.ACTIVE,
  powerState: PowerState.RUNNING,
});

/** Nova's shutdown_timeout default: seconds a clean shutdown may take before power off. */
const SHUTDOWN_TIMEOUT_SECONDS = 60;

export const POWER_TASKS: Readonly<Record<string, PowerTask>> = {
  [TaskState.POWERING_OFF]: {
    action: 'stop',
    event: 'compute_stop_instance',
    run: (d, r, s) => d.powerOff(r, { timeoutSeconds: SHUTDOWN_TIMEOUT_SECONDS }, s),
    vmState: VmState.STOPPED,
    powerState: PowerState.SHUTDOWN,
  },
  [TaskState.POWERING_ON]: { action: 'start', event: 'compute_start_instance', run: (d, r, s) => d.powerOn(r, s), vmState: VmState.ACTIVE, powerState: PowerState.RUNNING },
  [TaskState.REBOOTING]: reboot('SOFT'),
  [TaskState.REBOOT_PENDING]: reboot('SOFT'),
  [TaskState.REBOOT_STARTED]: reboot('SOFT'),
  [TaskState.REBOOTING_HARD]: reboot('HARD'),
  [TaskState.REBOOT_PENDING_HARD]: reboot('HARD'),
  [TaskState.REBOOT_STARTED_HARD]: reboot('HARD'),
  [TaskState.SUSPENDING]: { action: 'suspend', event: 'compute_suspend_instance', run: (d, r, s) => d.suspend(r, s), vmState: VmState.SUSPENDED, powerState: PowerState.SUSPENDED },
  [TaskState.RESUMING]: { action: 'resume', event: 'compute_resume_instance', run: (d, r, s) => d.resume(r, s), vmState: VmState.ACTIVE, powerState: PowerState.RUNNING },
  // Soft delete ([DEFAULT] reclaim_instance_interval > 0): powered off at once, as Nova's
  // soft_delete falls back to a plain power off; restore powers it on again.
  [TaskState.SOFT_DELETING]: {
    action: 'delete',
    event: 'compute_soft_delete_instance',
    run: (d, r, s) => d.powerOff(r, { timeoutSeconds: 0 }, s),
    vmState: VmState.SOFT_DELETED,
    powerState: PowerState.SHUTDOWN,
    also: () => ({ terminated_at: now() }),
  },
  [TaskState.RESTORING]: {
    action: 'restore',
    event: 'compute_restore_instance',
    run: (d, r, s) => d.powerOn(r, s),
    vmState: VmState.ACTIVE,
    powerState: PowerState.RUNNING,
    also: () => ({ terminated_at: null }),
  },
  [TaskState.PAUSING]: {
    action: 'pause',
    event: 'compute_pause_instance',
    run: (d, r, s) => (d.pause ? d.pause(r, s) : Promise.reject(new UnsupportedOperationError('pause', d.type))),
    vmState: VmState.PAUSED,
    powerState: PowerState.PAUSED,
  },
  [TaskState.UNPAUSING]: {
    action: 'unpause',
    event: 'compute_unpause_instance',
    run: (d, r, s) => (d.unpause ? d.unpause(r, s) : Promise.reject(new UnsupportedOperationError('unpause', d.type))),
    vmState: VmState.ACTIVE,
    powerState: PowerState.RUNNING,
  },
};

/**
 * Runs a power action and ends it with one guarded update (expecting the task it worked
 * on). On failure the vm_state stays what it was (the API changed only task_state), the
 * task is cleared, the power state re-read, and a fault and a failed event say why.
 */
export async function runPowerTask(ctx: AgentContext, row: InstanceRow, task: PowerTask): Promise<void> {
  const { db, driver, signal, host } = ctx;
  const taskState = row.task_state;
  const event = await beginEvent(db, row.uuid, task.action, task.event, host);
  const ref = instanceRef(row);
  try {
    await task.run(driver, ref, signal);
  } catch (err) {
    if (signal.aborted) throw err;
    const state = await driver.getInstanceState(ref, signal).catch(() => undefined);
    await event.finish('Error', faultDetails(err));
    const updated = await updateInstance(db, row.uuid, { taskState, host }, { task_state: null, ...(state ? { power_state: state.powerState } : {}) });
    if (updated) await addInstanceFault(db, { instanceUuid: row.uuid, code: 500, message: faultMessage(err), details: faultDetails(err), host });
    ctx.logger.warn({ instance: row.uuid, task: taskState, reason: faultMessage(err) }, 'power action failed');
    return;
  }
  // The event first: whoever sees the new state also sees the finished event.
  await event.finish('Success');
  const done = await updateInstance(db, row.uuid, { taskState, host }, { vm_state: task.vmState, power_state: task.powerState, task_state: null, ...task.also?.() });
  // A VM powered on again may run on another host of the cluster: its console moved with it.
  if (done && task.powerState === PowerState.RUNNING) await refreshConsole(ctx, ref);
}
