import type { Selectable } from 'kysely';
import type { Db } from '../database.js';
import type { TokenTable } from '../schema.js';

export type TokenRow = Selectable<TokenTable>;

export interface NewToken {
  /** sha256 of the opaque token, never the token itself. */
  readonly hash: string;
  readonly userId: string;
  readonly projectId: string | null;
  readonly issuedAt: string;
  readonly expiresAt: string;
  readonly methods: readonly string[];
  readonly auditIds: readonly string[];
}

export async function insertToken(db: Db, t: NewToken): Promise<void> {
  await db
    .insertInto('tokens')
    .values({
      id: t.hash,
      user_id: t.userId,
      project_id: t.projectId,
      issued_at: t.issuedAt,
      expires_at: t.expiresAt,
      revoked: 0,
      methods: JSON.stringify(t.methods),
      audit_ids: JSON.stringify(t.auditIds),
    })
    .execute();
}

/** A token that is neither revoked nor expired at `nowIso`. */
export async function getLiveToken(db: Db, hash: string, nowIso: string): Promise<TokenRow | undefined> {
  return db
    .selectFrom('tokens')
    .selectAll()
    .where('id', '=', hash)
    .where('revoked', '=', 0)
    .where('expires_at', '>', nowIso)
    .executeTakeFirst();
}

export async function revokeToken(db: Db, hash: string): Promise<boolean> {
  const r = await db.updateTable('tokens').set({ revoked: 1 }).where('id', '=', hash).where('revoked', '=', 0).executeTakeFirst();
  return r.numUpdatedRows > 0n;
}

export async function revokeTokensOfUser(db: Db, userId: string): Promise<void> {
  await db.updateTable('tokens').set({ revoked: 1 }).where('user_id', '=', userId).execute();
}

export async function revokeTokensOfProject(db: Db, projectId: string): Promise<void> {
  await db.updateTable('tokens').set({ revoked: 1 }).where('project_id', '=', projectId).execute();
}

/** Removes tokens that expired before `beforeIso`; a revoked token is dead once expired too. */
export async function purgeExpiredTokens(db: Db, beforeIso: string): Promise<number> {
  const r = await db.deleteFrom('tokens').where('expires_at', '<', beforeIso).executeTakeFirst();
  return Number(r.numDeletedRows);
}
