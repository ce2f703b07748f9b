import type { Db } from '../database.js';
import type { InstanceRow, InstanceUpdate, NewInstance } from '../schema.js';
import { now } from '../time.js';

/**
 * The instance row is the unit of desired state. Every change after creation goes
 * through `updateInstance`, a single guarded UPDATE: it applies only when the row is
 * still in the state the writer expects, so two writers can never both win.
 */
export interface InstanceExpectation {
  /** vm_state must be one of these. */
  readonly vmState?: string | readonly string[];
  /** task_state must be one of these (null: no task in progress). */
  readonly taskState?: string | null | readonly (string | null)[];
  /** The row's version must be exactly this (optimistic concurrency). */
  readonly version?: number;
  /** The owning host must be this. */
  readonly host?: string | null;
}

export async function insertInstances(db: Db, rows: readonly NewInstance[]): Promise<void> {
  if (rows.length === 0) return;
  await db.insertInto('instances').values([...rows]).execute();
}

export async function getInstance(db: Db, uuid: string, options: { includeDeleted?: boolean } = {}): Promise<InstanceRow | undefined> {
  let q = db.selectFrom('instances').selectAll().where('uuid', '=', uuid);
  if (!options.includeDeleted) q = q.where('deleted', '=', 0);
  return q.executeTakeFirst();
}

/** Applies `set` when the row matches `expected`; returns the new row, or undefined when it did not match. */
export async function updateInstance(db: Db, uuid: string, expected: InstanceExpectation, set: InstanceUpdate): Promise<InstanceRow | undefined> {
  let q = db
    .updateTable('instances')
    .set({ ...set, updated_at: now() })
    .set((eb) => ({ version: eb('version', '+', 1) }))
    .where('uuid', '=', uuid)
    .where('deleted', '=', 0);
  if (expected.vmState !== undefined) {
    const states = typeof expected.vmState === 'string' ? [expected.vmState] : [...expected.vmState];
    q = q.where('vm_state', 'in', states);
  }
  if (expected.taskState !== undefined) {
    const tasks = expected.taskState === null || typeof expected.taskState === 'string' ? [expected.taskState] : [...expected.taskState];
    const named = tasks.filter((t): t is string => t !== null);
    const allowNull = tasks.includes(null);
    q = q.where((eb) => {
      const ors = [];
      if (named.length > 0) ors.push(eb('task_state', 'in', named));
      if (allowNull) ors.push(eb('task_state', 'is', null));
      return eb.or(ors);
    });
  }
  if (expected.version !== undefined) q = q.where('version', '=', expected.version);
  if (expected.host !== undefined) q = expected.host === null ? q.where('host', 'is', null) : q.where('host', '=', expected.host);
  return q.returningAll().executeTakeFirst();
}

export async function getInstanceMetadata(db: Db, uuid: string): Promise<Record<string, string>> {
  const rows = await db.selectFrom('instance_metadata').select(['key', 'value']).where('instance_uuid', '=', uuid).execute();
  return Object.fromEntries(rows.map((r) => [r.key, r.value]));
}

/** Records why an instance failed; the API shows the newest fault of an ERROR server. */
export async function addInstanceFault(
  db: Db,
  fault: { instanceUuid: string; code: number; message: string; details?: string; host?: string | null },
): Promise<void> {
  await db
    .insertInto('instance_faults')
    .values({
      instance_uuid: fault.instanceUuid,
      code: fault.code,
      message: fault.message.slice(0, 255),
      details: fault.details ?? '',
      host: fault.host ?? null,
      created_at: now(),
    })
    .execute();
}

export async function latestInstanceFault(db: Db, uuid: string) {
  return db.selectFrom('instance_faults').selectAll().where('instance_uuid', '=', uuid).orderBy('id', 'desc').limit(1).executeTakeFirst();
}

// --- instance action log (os-instance-actions) ---

export async function startInstanceAction(
  db: Db,
  a: { instanceUuid: string; action: string; requestId: string; userId: string; projectId: string },
): Promise<number> {
  const t = now();
  const row = await db
    .insertInto('instance_actions')
    .values({
      instance_uuid: a.instanceUuid,
      action: a.action,
      request_id: a.requestId,
      user_id: a.userId,
      project_id: a.projectId,
      start_time: t,
      updated_at: t,
      finish_time: null,
      message: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** The newest action of this kind on the instance (the one an agent's events belong to). */
export async function latestInstanceAction(db: Db, uuid: string, action: string) {
  return db
    .selectFrom('instance_actions')
    .selectAll()
    .where('instance_uuid', '=', uuid)
    .where('action', '=', action)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
}

export async function startActionEvent(db: Db, actionId: number, event: string, host: string | null): Promise<number> {
  const t = now();
  const row = await db
    .insertInto('instance_action_events')
    .values({ action_id: actionId, event, start_time: t, finish_time: null, result: null, traceback: null, host, details: null })
    .returning('id')
    .executeTakeFirstOrThrow();
  await db.updateTable('instance_actions').set({ updated_at: t }).where('id', '=', actionId).execute();
  return row.id;
}

/** Finishes an event; an action whose event failed carries the message 'Error', as Nova's does. */
export async function finishActionEvent(db: Db, eventId: number, result: 'Success' | 'Error', traceback: string | null = null): Promise<void> {
  const t = now();
  const ev = await db
    .updateTable('instance_action_events')
    .set({ finish_time: t, result, traceback })
    .where('id', '=', eventId)
    .returning('action_id')
    .executeTakeFirst();
  if (!ev) return;
  await db
    .updateTable('instance_actions')
    .set({ updated_at: t, finish_time: t, ...(result === 'Error' ? { message: 'Error' } : {}) })
    .where('id', '=', ev.action_id)
    .execute();
}
