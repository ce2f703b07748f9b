import { addInstanceFault, updateInstance } from '../../../db/repos/instances.js';
import type { InstanceRow, InstanceUpdate } from '../../../db/schema.js';
import type { AgentContext } from '../context.js';
import { beginEvent, type ActionEvent } from '../events.js';
import { instanceRef } from '../instance-spec.js';
import { faultDetails, faultMessage } from './failure.js';

/**
 * One agent operation that ends with a guarded update: its instance action and event
 * names (Nova's), the task states it may be in while it runs (the first is the one the API
 * set; later ones are steps it reports, e.g. image_pending_upload), the work, and what the
 * instance becomes on success. On failure the vm_state stays what it was (unless `onFailure`
 * says otherwise), the task is cleared, and a fault and a failed event say why, so no server
 * is ever left in a task_state.
 */
export interface Operation {
  readonly action: string;
  readonly event: string;
  readonly taskStates: readonly string[];
  /** Does the work; `step` moves the instance to another of taskStates (false: the user changed the task meanwhile). */
  run(step: (taskState: string) => Promise<boolean>, event: ActionEvent): Promise<InstanceUpdate | undefined>;
  /** Extra fields of the failure update (e.g. the power state read back). */
  onFailure?(err: unknown): Promise<InstanceUpdate>;
  /** After the failure is recorded: undo what the API prepared (delete a queued image, ...). */
  cleanup?(err: unknown): Promise<void>;
}

/** Thrown by `step` users to stop quietly when the task changed under them (a delete). */
export class TaskChanged extends Error {
  constructor() {
    super('the instance task changed while the operation ran');
  }
}

export async function runOperation(ctx: AgentContext, row: InstanceRow, op: Operation): Promise<InstanceRow | undefined> {
  const { db, host, signal } = ctx;
  const event = await beginEvent(db, row.uuid, op.action, op.event, host);
  const step = async (taskState: string) => (await updateInstance(db, row.uuid, { taskState: [...op.taskStates], host }, { task_state: taskState })) !== undefined;
  let set: InstanceUpdate | undefined;
  try {
    set = await op.run(step, event);
  } catch (err) {
    if (signal.aborted) throw err;
    if (err instanceof TaskChanged) {
      await event.finish('Error', 'the task was replaced (the server is being deleted)');
      await op.cleanup?.(err).catch(() => undefined);
      return undefined;
    }
    await event.finish('Error', faultDetails(err));
    const extra = (await op.onFailure?.(err).catch(() => undefined)) ?? {};
    const updated = await updateInstance(db, row.uuid, { taskState: [...op.taskStates], host }, { task_state: null, ...extra });
    if (updated) await addInstanceFault(db, { instanceUuid: row.uuid, code: 500, message: faultMessage(err), details: faultDetails(err), host });
    await op.cleanup?.(err).catch((e: unknown) => ctx.logger.warn({ instance: row.uuid, err: faultMessage(e) }, 'cleanup after a failed operation failed'));
    ctx.logger.warn({ instance: row.uuid, action: op.action, reason: faultMessage(err) }, 'operation failed');
    return undefined;
  }
  await event.finish('Success');
  return updateInstance(db, row.uuid, { taskState: [...op.taskStates], host }, { task_state: null, ...(set ?? {}) });
}

/** The power state the hypervisor reports now, for a failure update (nothing when it cannot say). */
export async function powerStateNow(ctx: AgentContext, row: InstanceRow): Promise<InstanceUpdate> {
  const state = await ctx.driver.getInstanceState(instanceRef(row), ctx.signal).catch(() => undefined);
  return state ? { power_state: state.powerState } : {};
}
