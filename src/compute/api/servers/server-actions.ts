import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requireWriter } from '../../../api/policy.js';
import { InvalidInputError, PolyvisorError } from '../../../errors.js';
import { getInstance, startInstanceAction, updateInstance } from '../../../db/repos/instances.js';
import type { InstanceRow } from '../../../db/schema.js';
import { TaskState, VmState } from '../../states.js';
import type { ComputeDeps } from '../deps.js';
import { callerOf } from '../request.js';
import { atLeast, versionOf, versionString } from '../microversion.js';
import { consoleAction, isConsoleAction } from './console-actions.js';
import { deleteServer } from './delete-server.js';
import { guestAction, guestActionOf } from './guest-actions.js';
import { assertHypervisorSupports } from './hypervisor-support.js';
import { assertUnlocked, invalidState, visibleServer } from './lookup.js';
import { isMoveAction, moveAction } from './move-actions.js';
import { rebuildAction } from './rebuild-action.js';
import { isResetState, resetState } from './reset-state.js';

/**
 * A state-changing server action as Nova's check_instance_state defines it: the
 * vm_states and task_states it may start from, and the task_state it sets. The
 * compute agent does the work, then clears task_state and sets vm/power state.
 */
interface ActionRule {
  /** The name in instance actions and in Nova's 409 message. */
  readonly name: string;
  readonly vmStates: readonly string[];
  readonly taskStates: readonly (string | null)[];
  readonly newTask: string;
}

const ALLOW_REBOOT_TASKS: readonly (string | null)[] = [
  null,
  TaskState.REBOOTING,
  TaskState.REBOOT_PENDING,
  TaskState.REBOOT_STARTED,
  TaskState.RESUMING,
  TaskState.REBOOTING_HARD,
  TaskState.UNPAUSING,
  TaskState.PAUSING,
  TaskState.SUSPENDING,
];

const RULES: Readonly<Record<string, ActionRule>> = {
  'os-stop': { name: 'stop', vmStates: [VmState.ACTIVE, VmState.ERROR], taskStates: [null], newTask: TaskState.POWERING_OFF },
  'os-start': { name: 'start', vmStates: [VmState.STOPPED], taskStates: [null], newTask: TaskState.POWERING_ON },
  suspend: { name: 'suspend', vmStates: [VmState.ACTIVE], taskStates: [null], newTask: TaskState.SUSPENDING },
  resume: { name: 'resume', vmStates: [VmState.SUSPENDED], taskStates: [null], newTask: TaskState.RESUMING },
  pause: { name: 'pause', vmStates: [VmState.ACTIVE], taskStates: [null], newTask: TaskState.PAUSING },
  unpause: { name: 'unpause', vmStates: [VmState.PAUSED], taskStates: [null], newTask: TaskState.UNPAUSING },
  // os-deferred-delete: a SOFT_DELETED server ([DEFAULT] reclaim_instance_interval > 0) powered on again.
  restore: { name: 'restore', vmStates: [VmState.SOFT_DELETED], taskStates: [null], newTask: TaskState.RESTORING },
};
const SOFT_REBOOT: ActionRule = { name: 'reboot', vmStates: [VmState.ACTIVE], taskStates: [null], newTask: TaskState.REBOOTING };
const HARD_REBOOT: ActionRule = {
  name: 'reboot',
  vmStates: [VmState.ACTIVE, VmState.STOPPED, VmState.PAUSED, VmState.SUSPENDED, VmState.ERROR],
  taskStates: ALLOW_REBOOT_TASKS,
  newTask: TaskState.REBOOTING_HARD,
};

/** Actions whose body is null or an empty object. */
const NO_ARGUMENT = new Set([...Object.keys(RULES), 'lock', 'unlock', 'forceDelete']);
const REBOOT_TYPES = new Set(['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft']);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isRebuild(body: unknown): boolean {
  return isRecord(body) && Object.keys(body).length === 1 && 'rebuild' in body;
}

/** Validates the action body by hand: its single key picks the schema. */
function parseAction(body: unknown): { key: string; rule?: ActionRule } {
  if (!isRecord(body)) throw new InvalidInputError('Malformed request body: an object naming one action was expected.');
  const keys = Object.keys(body);
  const key = keys[0];
  if (keys.length !== 1 || key === undefined) throw new InvalidInputError('Malformed request body: exactly one action was expected.');
  const arg = body[key];
  if (key === 'reboot') {
    if (!isRecord(arg)) throw new InvalidInputError("Invalid input for field/attribute reboot. Value: " + JSON.stringify(arg) + ". is not of type 'object'");
    const extra = Object.keys(arg).find((k) => k !== 'type');
    if (extra !== undefined) throw new InvalidInputError(`Invalid input for field/attribute reboot. Additional properties are not allowed ('${extra}' was unexpected)`);
    const type = arg['type'];
    if (type === undefined) throw new InvalidInputError("Invalid input for field/attribute reboot. 'type' is a required property");
    if (typeof type !== 'string' || !REBOOT_TYPES.has(type)) {
      const shown = JSON.stringify(type);
      throw new InvalidInputError(`Invalid input for field/attribute type. Value: ${shown}. ${shown} is not one of ['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft']`);
    }
    return { key, rule: type.toUpperCase() === 'HARD' ? HARD_REBOOT : SOFT_REBOOT };
  }
  if (!NO_ARGUMENT.has(key)) throw new InvalidInputError(`There is no such action: ${key}`);
  if (arg !== null && !(isRecord(arg) && Object.keys(arg).length === 0)) {
    throw new InvalidInputError(`Invalid input for field/attribute ${key}. Value: ${JSON.stringify(arg)}. The action takes no arguments.`);
  }
  const rule = RULES[key];
  return rule ? { key, rule } : { key };
}

/** `POST /servers/{id}/action` for the power and lock actions and os-resetState (every accepted one answers 202) and os-getVNCConsole. */
export function serverActionRoutes(app: FastifyInstance, deps: ComputeDeps): void {
  app.post('/servers/:server_id/action', async (req, reply) => {
    if (isConsoleAction(req.body)) return consoleAction(req, reply, deps);
    if (isRebuild(req.body)) return rebuildAction(req, reply, deps);
    if (isMoveAction(req.body)) return moveAction(req, reply, deps);
    const guest = guestActionOf(req.body);
    if (guest !== undefined) return guestAction(req, reply, deps, guest);
    if (isResetState(req.body)) {
      await resetState(req, deps);
      return reply.status(202).send();
    }
    const ctx = callerOf(req);
    const row = await visibleServer(req, deps);
    // 2.44 retired the nova-network proxy actions: 404 from then on (before, they are unknown here: 400).
    if (isRecord(req.body) && atLeast(req, 2, 44) && Object.keys(req.body).some((k) => NETWORK_PROXY_ACTIONS.has(k))) {
      throw new PolyvisorError('not_found', `API version ${versionString(versionOf(req))} is not supported on this method.`);
    }
    const lockReason = lockReasonOf(req);
    const { key, rule } = lockReason === undefined ? parseAction(req.body) : { key: 'lock', rule: undefined };
    requireWriter(ctx, `os_compute_api:os-${key}`);
    if (key === 'forceDelete') {
      // Nova's force_delete: any vm_state (a SOFT_DELETED server's or not), no task running; never soft.
      if (row.task_state !== null) throw invalidState('forceDelete', row, 'task_state');
      await deleteServer(deps, req, row, { force: true });
    } else if (key === 'lock' || key === 'unlock') await setLock(deps, req, row, key === 'lock', lockReason ?? null);
    else if (rule) await runAction(deps, req, row, rule);
    return reply.status(202).send();
  });
}

async function runAction(deps: ComputeDeps, req: FastifyRequest, row: InstanceRow, rule: ActionRule): Promise<void> {
  assertUnlocked(req, row);
  checkState(rule, row);
  await assertHypervisorSupports(deps, row, rule.name);
  const host = row.host;
  // Only a placed server has an agent to do the work; an unplaced one is building or failed before placement.
  if (host === null) throw invalidState(rule.name, row, 'vm_state');
  const ctx = callerOf(req);
  const done = await deps.db.transaction().execute(async (trx) => {
    const updated = await updateInstance(trx, row.uuid, { vmState: rule.vmStates, taskState: rule.taskStates, host }, { task_state: rule.newTask });
    if (!updated) return false;
    await startInstanceAction(trx, { instanceUuid: row.uuid, action: rule.name, requestId: req.id, userId: ctx.userId, projectId: ctx.projectId ?? row.project_id });
    return true;
  });
  if (!done) {
    // Someone changed the server between our read and our write: report its state now.
    const current = await getInstance(deps.db, row.uuid);
    if (current) checkState(rule, current);
    throw invalidState(rule.name, current ?? row, 'task_state');
  }
  await deps.bus.notify('instances', host);
}

function checkState(rule: ActionRule, row: InstanceRow): void {
  if (!rule.vmStates.includes(row.vm_state)) throw invalidState(rule.name, row, 'vm_state');
  if (!rule.taskStates.includes(row.task_state)) throw invalidState(rule.name, row, 'task_state');
}

const NETWORK_PROXY_ACTIONS = new Set(['addFixedIp', 'removeFixedIp', 'addFloatingIp', 'removeFloatingIp']);

/** 2.73: `{"lock": {"locked_reason": "..."}}`; undefined for any other body (parseAction judges it). */
function lockReasonOf(req: FastifyRequest): string | undefined {
  const body = req.body;
  if (!isRecord(body) || Object.keys(body).length !== 1 || !isRecord(body['lock']) || !atLeast(req, 2, 73)) return undefined;
  const arg = body['lock'];
  const extra = Object.keys(arg).find((k) => k !== 'locked_reason');
  if (extra !== undefined) throw new InvalidInputError(`Invalid input for field/attribute lock. Additional properties are not allowed ('${extra}' was unexpected)`);
  const reason = arg['locked_reason'];
  if (reason === undefined) return undefined;
  if (typeof reason !== 'string' || reason.length > 255) {
    throw new InvalidInputError(`Invalid input for field/attribute locked_reason. Value: ${JSON.stringify(reason)}. It must be a string of at most 255 characters`);
  }
  return reason;
}

async function setLock(deps: ComputeDeps, req: FastifyRequest, row: InstanceRow, locked: boolean, reason: string | null): Promise<void> {
  const ctx = callerOf(req);
  await deps.db.transaction().execute(async (trx) => {
    await updateInstance(trx, row.uuid, {}, { locked: locked ? 1 : 0, locked_reason: locked ? reason : null });
    await startInstanceAction(trx, {
      instanceUuid: row.uuid,
      action: locked ? 'lock' : 'unlock',
      requestId: req.id,
      userId: ctx.userId,
      projectId: ctx.projectId ?? row.project_id,
    });
  });
}
