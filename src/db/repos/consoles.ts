import { createHash } from 'node:crypto';
import type { Db } from '../database.js';
import type { Selectable } from 'kysely';
import type { ConsoleAuthTokenTable, InstanceConsoleTable } from '../schema.js';
import { now } from '../time.js';

export type InstanceConsoleRow = Selectable<InstanceConsoleTable>;
export type ConsoleAuthTokenRow = Selectable<ConsoleAuthTokenTable>;

/**
 * Console endpoints and tokens (migration 0007-vmware). The compute agent publishes where
 * an instance's console listens; the Compute API issues a token for it; a console proxy
 * looks the token up. Tokens are stored as sha256: the database alone opens no console.
 */

/** Records (or replaces) the instance's console endpoint. */
export async function publishConsole(db: Db, instanceUuid: string, endpoint: { protocol: string; host: string; port: number }): Promise<void> {
  const row = { instance_uuid: instanceUuid, protocol: endpoint.protocol, host: endpoint.host, port: endpoint.port, updated_at: now() };
  await db
    .insertInto('instance_consoles')
    .values(row)
    .onConflict((oc) => oc.column('instance_uuid').doUpdateSet({ protocol: row.protocol, host: row.host, port: row.port, updated_at: row.updated_at }))
    .execute();
}

export async function getConsole(db: Db, instanceUuid: string): Promise<InstanceConsoleRow | undefined> {
  return db.selectFrom('instance_consoles').selectAll().where('instance_uuid', '=', instanceUuid).executeTakeFirst();
}

/** Forgets the instance's endpoint and its tokens (the instance is gone). */
export async function removeConsole(db: Db, instanceUuid: string): Promise<void> {
  await db.deleteFrom('instance_consoles').where('instance_uuid', '=', instanceUuid).execute();
  await db.deleteFrom('console_auth_tokens').where('instance_uuid', '=', instanceUuid).execute();
}

export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Stores a token for `endpoint` valid `ttlSeconds`; sweeps expired tokens on the way. */
export async function issueConsoleToken(
  db: Db,
  token: string,
  grant: { instanceUuid: string; consoleType: string; host: string; port: number; ttlSeconds: number },
): Promise<void> {
  const t = now();
  await db.deleteFrom('console_auth_tokens').where('expires_at', '<', t).execute();
  await db
    .insertInto('console_auth_tokens')
    .values({
      token_hash: tokenHash(token),
      instance_uuid: grant.instanceUuid,
      console_type: grant.consoleType,
      host: grant.host,
      port: grant.port,
      created_at: t,
      expires_at: new Date(Date.now() + grant.ttlSeconds * 1000).toISOString(),
    })
    .execute();
}

/** What a console proxy asks: the endpoint of an unexpired token, or undefined. */
export async function validateConsoleToken(db: Db, token: string): Promise<ConsoleAuthTokenRow | undefined> {
  return db.selectFrom('console_auth_tokens').selectAll().where('token_hash', '=', tokenHash(token)).where('expires_at', '>', now()).executeTakeFirst();
}
