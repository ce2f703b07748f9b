import type { Db } from '../database.js';
import type { DialectName } from '../dialect.js';
import type { KeypairRow } from '../schema.js';
import { now } from '../time.js';
import { keypairCount, lockQuotaScope } from './quotas.js';

/** SSH key pairs belong to a user (not a project), as in Nova. */
export async function listKeypairs(db: Db, userId: string): Promise<KeypairRow[]> {
  return db.selectFrom('keypairs').selectAll().where('user_id', '=', userId).orderBy('name').execute();
}

export async function getKeypair(db: Db, userId: string, name: string): Promise<KeypairRow | undefined> {
  return db.selectFrom('keypairs').selectAll().where('user_id', '=', userId).where('name', '=', name).executeTakeFirst();
}

export type KeypairInsertResult = { ok: true; row: KeypairRow } | { ok: false; reason: 'duplicate' | 'quota' };

/** Inserts a key pair when the name is free and the user's key_pairs quota allows one more (-1: unlimited). */
export async function insertKeypair(
  db: Db,
  dialect: DialectName,
  k: { name: string; userId: string; type: string; fingerprint: string; publicKey: string },
  quota: number,
): Promise<KeypairInsertResult> {
  return db.transaction().execute(async (trx) => {
    await lockQuotaScope(trx, dialect, `keypairs:${k.userId}`);
    if (await getKeypair(trx, k.userId, k.name)) return { ok: false, reason: 'duplicate' } as const;
    if (quota >= 0 && (await keypairCount(trx, k.userId)) + 1 > quota) return { ok: false, reason: 'quota' } as const;
    const row = await trx
      .insertInto('keypairs')
      .values({ name: k.name, user_id: k.userId, type: k.type, fingerprint: k.fingerprint, public_key: k.publicKey, created_at: now() })
      .returningAll()
      .executeTakeFirstOrThrow();
    return { ok: true, row } as const;
  });
}

/** Returns whether it existed. */
export async function deleteKeypair(db: Db, userId: string, name: string): Promise<boolean> {
  const r = await db.deleteFrom('keypairs').where('user_id', '=', userId).where('name', '=', name).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}
