import type { FastifyRequest } from 'fastify';
import { getInstance, startInstanceAction, updateInstance } from '../../../db/repos/instances.js';
import type { Db } from '../../../db/database.js';
import type { InstanceRow, InstanceUpdate } from '../../../db/schema.js';
import type { ComputeDeps } from '../deps.js';
import { callerOf } from '../request.js';
import { invalidState } from './lookup.js';

/** Nova's check_instance_state for one action: the states it may start from and the task it sets. */
export interface TaskRule {
  readonly name: string;
  readonly vmStates: readonly string[];
  readonly taskStates?: readonly (string | null)[];
  readonly newTask: string;
}

/** Nova's 409 when the server's state does not allow the action. */
export function checkTaskRule(rule: TaskRule, row: InstanceRow): void {
  if (!rule.vmStates.includes(row.vm_state)) throw invalidState(rule.name, row, 'vm_state');
  if (!(rule.taskStates ?? [null]).includes(row.task_state)) throw invalidState(rule.name, row, 'task_state');
}

/**
 * Hands an action to the agent (or, for an unplaced server, the scheduler): in ONE
 * transaction the guarded task_state update (plus `set`), the instance action, and `extra`
 * (what the agent will need: an image record, system metadata); then the notification.
 * A server changed between our read and our write gets the 409 of its state now.
 */
export async function startTask(
  deps: ComputeDeps,
  req: FastifyRequest,
  row: InstanceRow,
  rule: TaskRule,
  options: { set?: InstanceUpdate; extra?: (trx: Db) => Promise<void>; actionName?: string } = {},
): Promise<void> {
  checkTaskRule(rule, row);
  const ctx = callerOf(req);
  const done = await deps.db.transaction().execute(async (trx) => {
    const updated = await updateInstance(
      trx,
      row.uuid,
      // Not the row's version: a power-state sync in between must not turn into a 409.
      { vmState: rule.vmStates, taskState: rule.taskStates ?? [null], host: row.host },
      { task_state: rule.newTask, ...(options.set ?? {}) },
    );
    if (!updated) return false;
    await startInstanceAction(trx, {
      instanceUuid: row.uuid,
      action: options.actionName ?? rule.name,
      requestId: req.id,
      userId: ctx.userId,
      projectId: ctx.projectId ?? row.project_id,
    });
    await options.extra?.(trx);
    return true;
  });
  if (!done) {
    const current = await getInstance(deps.db, row.uuid);
    if (current) checkTaskRule(rule, current);
    throw invalidState(rule.name, current ?? row, 'task_state');
  }
  if (row.host === null) await deps.bus.notify('scheduler', row.uuid);
  else await deps.bus.notify('instances', row.host);
}
