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

/** Records (or replaces) where the instance's serial console listens (TCP). */
export async function publishSerialConsole(db: Db, instanceUuid: string, endpoint: { host: string; port: number }): Promise<void> {
  const row = { instance_uuid: instanceUuid, host: endpoint.host, port: endpoint.port, updated_at: now() };
  await db
    .insertInto('instance_serial_consoles')
    .values(row)
    .onConflict((oc) => oc.column('instance_uuid').doUpdateSet({ host: row.host, port: row.port, updated_at: row.updated_at }))
    .execute();
}

export async function getSerialConsole(db: Db, instanceUuid: string): Promise<{ host: string; port: number } | undefined> {
  return db.selectFrom('instance_serial_consoles').select(['host', 'port']).where('instance_uuid', '=', instanceUuid).executeTakeFirst();
}

export async function getConsole(db: Db, instanceUuid: string): Promise<InstanceConsoleRow | undefined> {
  return db.selectFrom('instance_consoles').selectAll().where('instance_uuid', '=', instanceUuid).executeTakeFirst();
}

/** Forgets the instance's endpoint and its tokens (the instance is gone). */
export async function removeConsole(db: Db, instanceUuid: string): Promise<void> {
  await db.deleteFrom('instance_consoles').where('instance_uuid', '=', instanceUuid).execute();
  await db.deleteFrom('instance_serial_consoles').where('instance_uuid', '=', instanceUuid).execute();
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

/** Why a token cannot open a console (none when it can). */
export type ConsoleTokenRefusal = 'unknown' | 'expired' | 'used';

export type TokenLookup = { readonly row: ConsoleAuthTokenRow } | { readonly refused: ConsoleTokenRefusal; readonly instanceUuid?: string };

/** A token's state without changing it (the console page asks before it connects). */
export async function peekConsoleToken(db: Db, token: string): Promise<TokenLookup> {
  const row = await db.selectFrom('console_auth_tokens').selectAll().where('token_hash', '=', tokenHash(token)).executeTakeFirst();
  if (row === undefined) return { refused: 'unknown' };
  if (row.used_at !== null) return { refused: 'used', instanceUuid: row.instance_uuid };
  if (row.expires_at <= now()) return { refused: 'expired', instanceUuid: row.instance_uuid };
  return { row };
}

/**
 * Redeems a one-time token: one guarded UPDATE marks it used if it is unused and unexpired,
 * so of two concurrent attempts exactly one wins (on SQLite and PostgreSQL alike). When
 * nothing was updated, says why.
 */
export async function consumeConsoleToken(db: Db, token: string): Promise<TokenLookup> {
  const t = now();
  const row = await db
    .updateTable('console_auth_tokens')
    .set({ used_at: t })
    .where('token_hash', '=', tokenHash(token))
    .where('used_at', 'is', null)
    .where('expires_at', '>', t)
    .returningAll()
    .executeTakeFirst();
  if (row !== undefined) return { row };
  const why = await peekConsoleToken(db, token);
  // Between the UPDATE and the look it can only have become used or expired, never valid again.
  return 'refused' in why ? why : { refused: 'used', instanceUuid: why.row.instance_uuid };
}

/**
 * Gives a redeemed token back when its console could not be opened at all (the VNC port
 * did not answer): only a connection that reached the console uses the link up, so a
 * retry shows the real problem again rather than "already used". Guarded by the redemption
 * time, so it never revives a token another attempt used since.
 */
export async function releaseConsoleToken(db: Db, hash: string, usedAt: string): Promise<void> {
  await db.updateTable('console_auth_tokens').set({ used_at: null }).where('token_hash', '=', hash).where('used_at', '=', usedAt).execute();
}

/** What a console proxy asks: the endpoint of an unused, unexpired token, or undefined (does not consume it). */
export async function validateConsoleToken(db: Db, token: string): Promise<ConsoleAuthTokenRow | undefined> {
  const r = await peekConsoleToken(db, token);
  return 'row' in r ? r.row : undefined;
}

/** What the console proxy shows and checks about a token's instance: its name, whether it still exists, and its hypervisor. */
export interface ConsoleInstance {
  readonly uuid: string;
  readonly displayName: string;
  readonly vmState: string;
  readonly deleted: boolean;
  /** The compute node's hypervisor_type ('VMware vCenter Server', 'QEMU', 'fake'), null when unknown. */
  readonly hypervisorType: string | null;
}

export async function consoleInstance(db: Db, instanceUuid: string): Promise<ConsoleInstance | undefined> {
  const row = await db
    .selectFrom('instances as i')
    .leftJoin('compute_nodes as n', (j) => j.onRef('n.hypervisor_hostname', '=', 'i.node').on('n.deleted', '=', 0))
    .select(['i.uuid', 'i.display_name', 'i.vm_state', 'i.deleted', 'n.hypervisor_type'])
    .where('i.uuid', '=', instanceUuid)
    .executeTakeFirst();
  if (row === undefined) return undefined;
  return { uuid: row.uuid, displayName: row.display_name, vmState: row.vm_state, deleted: row.deleted === 1, hypervisorType: row.hypervisor_type ?? null };
}
