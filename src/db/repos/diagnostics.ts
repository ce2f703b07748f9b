import type { Db } from '../database.js';
import { now } from '../time.js';

/**
 * Diagnostics travel through the database like every other request to an agent: the API
 * writes a request (data and error cleared), the owning agent answers it.
 */
export async function requestDiagnostics(db: Db, instanceUuid: string, host: string): Promise<string> {
  const t = now();
  await db
    .insertInto('instance_diagnostics')
    .values({ instance_uuid: instanceUuid, host, requested_at: t, data: null, error: null, updated_at: t })
    .onConflict((oc) => oc.column('instance_uuid').doUpdateSet({ host, requested_at: t, data: null, error: null, updated_at: t }))
    .execute();
  return t;
}

export async function getDiagnostics(db: Db, instanceUuid: string) {
  return db.selectFrom('instance_diagnostics').selectAll().where('instance_uuid', '=', instanceUuid).executeTakeFirst();
}

/** Requests waiting for this host's answer. */
export async function pendingDiagnostics(db: Db, host: string): Promise<string[]> {
  const rows = await db.selectFrom('instance_diagnostics').select('instance_uuid').where('host', '=', host).where('data', 'is', null).where('error', 'is', null).execute();
  return rows.map((r) => r.instance_uuid);
}

export async function answerDiagnostics(db: Db, instanceUuid: string, requestedAt: string, answer: { data: string } | { error: string }): Promise<void> {
  await db
    .updateTable('instance_diagnostics')
    .set({ data: 'data' in answer ? answer.data : null, error: 'error' in answer ? answer.error : null, updated_at: now() })
    .where('instance_uuid', '=', instanceUuid)
    .where('requested_at', '=', requestedAt)
    .execute();
}
