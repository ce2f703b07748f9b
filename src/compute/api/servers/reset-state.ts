import type { FastifyRequest } from 'fastify';
import { requireAdmin } from '../../../api/policy.js';
import { InvalidInputError } from '../../../errors.js';
import { startInstanceAction, updateInstance } from '../../../db/repos/instances.js';
import { VmState } from '../../states.js';
import type { ComputeDeps } from '../deps.js';
import { callerOf } from '../request.js';
import { visibleServer } from './lookup.js';

/** The states Nova's os-resetState schema accepts. */
const STATES: Readonly<Record<string, string>> = { active: VmState.ACTIVE, error: VmState.ERROR };

/** True when the action body is `{"os-resetState": ...}` (handled here, not by the power actions). */
export function isResetState(body: unknown): boolean {
  return typeof body === 'object' && body !== null && !Array.isArray(body) && Object.keys(body).length === 1 && 'os-resetState' in body;
}

function parseState(body: unknown): string {
  const arg = (body as Record<string, unknown>)['os-resetState'];
  if (typeof arg !== 'object' || arg === null || Array.isArray(arg)) {
    throw new InvalidInputError(`Invalid input for field/attribute os-resetState. Value: ${JSON.stringify(arg)}. is not of type 'object'`);
  }
  const fields = arg as Record<string, unknown>;
  const extra = Object.keys(fields).find((k) => k !== 'state');
  if (extra !== undefined) throw new InvalidInputError(`Invalid input for field/attribute os-resetState. Additional properties are not allowed ('${extra}' was unexpected)`);
  const state = fields['state'];
  if (state === undefined) throw new InvalidInputError("Invalid input for field/attribute os-resetState. 'state' is a required property");
  const vmState = typeof state === 'string' ? STATES[state] : undefined;
  if (vmState === undefined) {
    const shown = JSON.stringify(state);
    throw new InvalidInputError(`Invalid input for field/attribute state. Value: ${shown}. ${shown} is not one of ['active', 'error']`);
  }
  return vmState;
}

/**
 * `POST /servers/{id}/action {"os-resetState": {"state": "active"|"error"}}` (admins only):
 * an operator's repair tool, as in Nova — sets vm_state from any state, clears task_state,
 * ignores the lock and records a resetState instance action. The driver is not asked.
 */
export async function resetState(req: FastifyRequest, deps: ComputeDeps): Promise<void> {
  const ctx = callerOf(req);
  requireAdmin(ctx, 'os_compute_api:os-admin-actions:reset_state');
  const row = await visibleServer(req, deps);
  const vmState = parseState(req.body);
  await deps.db.transaction().execute(async (trx) => {
    await updateInstance(trx, row.uuid, {}, { vm_state: vmState, task_state: null });
    await startInstanceAction(trx, { instanceUuid: row.uuid, action: 'resetState', requestId: req.id, userId: ctx.userId, projectId: ctx.projectId ?? row.project_id });
  });
}
