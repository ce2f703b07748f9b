import { randomUUID } from 'node:crypto';
import type { Db } from '../database.js';
import type { ServiceRow } from '../schema.js';
import { now } from '../time.js';

/**
 * Service registration and heartbeats (Nova's `services` table). A service is one
 * (host, binary) pair: 'nova-compute' per compute agent, 'nova-scheduler' per scheduler.
 * Liveness is judged from `last_seen_at` by isServiceUp (src/compute/service-status.ts).
 */

/** Creates the service row if it does not exist, then records a heartbeat; returns the row. */
export async function registerService(db: Db, s: { host: string; binary: string; topic: string }): Promise<ServiceRow> {
  const t = now();
  // ON CONFLICT DO NOTHING: two processes starting at once for the same host must not fail.
  await db
    .insertInto('services')
    .values({
      uuid: randomUUID(),
      host: s.host,
      binary: s.binary,
      topic: s.topic,
      disabled: 0,
      disabled_reason: null,
      forced_down: 0,
      last_seen_at: t,
      version: 1,
      created_at: t,
      updated_at: t,
    })
    .onConflict((oc) => oc.columns(['host', 'binary']).doNothing())
    .execute();
  const row = await db
    .updateTable('services')
    .set({ last_seen_at: t, updated_at: t })
    .where('host', '=', s.host)
    .where('binary', '=', s.binary)
    .returningAll()
    .executeTakeFirstOrThrow();
  return row;
}

/** Records a heartbeat; false when the row is gone (an operator deleted the service): register again. */
export async function heartbeat(db: Db, serviceId: number): Promise<boolean> {
  const t = now();
  const r = await db.updateTable('services').set({ last_seen_at: t, updated_at: t }).where('id', '=', serviceId).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function getService(db: Db, host: string, binary: string): Promise<ServiceRow | undefined> {
  return db.selectFrom('services').selectAll().where('host', '=', host).where('binary', '=', binary).executeTakeFirst();
}

export async function listServices(db: Db, binary?: string): Promise<ServiceRow[]> {
  let q = db.selectFrom('services').selectAll().orderBy('id');
  if (binary !== undefined) q = q.where('binary', '=', binary);
  return q.execute();
}

/** Operator switches (os-services): disable with a reason, or force a service down. */
export async function setServiceStatus(
  db: Db,
  id: number,
  change: { disabled?: boolean; disabledReason?: string | null; forcedDown?: boolean },
): Promise<ServiceRow | undefined> {
  const set: { updated_at: string; disabled?: 0 | 1; disabled_reason?: string | null; forced_down?: 0 | 1 } = { updated_at: now() };
  if (change.disabled !== undefined) set.disabled = change.disabled ? 1 : 0;
  if (change.disabledReason !== undefined) set.disabled_reason = change.disabledReason;
  if (change.forcedDown !== undefined) set.forced_down = change.forcedDown ? 1 : 0;
  return db.updateTable('services').set(set).where('id', '=', id).returningAll().executeTakeFirst();
}
