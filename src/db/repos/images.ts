import type { Db } from '../database.js';
import type { ImageRow } from '../schema.js';

/**
 * An image as another service (compute) may use it: visible to the project
 * (public, community, shared with it, or its own), not deleted.
 */
export async function findUsableImage(db: Db, id: string, projectId: string | null, isAdmin: boolean): Promise<ImageRow | undefined> {
  const row = await db.selectFrom('images').selectAll().where('id', '=', id).where('deleted', '=', 0).executeTakeFirst();
  if (!row) return undefined;
  if (isAdmin || row.visibility === 'public' || row.visibility === 'community' || row.owner === projectId) return row;
  if (row.visibility === 'shared' && projectId !== null) {
    const member = await db
      .selectFrom('image_members')
      .select('status')
      .where('image_id', '=', id)
      .where('member_id', '=', projectId)
      .executeTakeFirst();
    if (member && member.status !== 'rejected') return row;
  }
  return undefined;
}

export function imageProperties(row: ImageRow): Record<string, string> {
  const parsed: unknown = JSON.parse(row.properties);
  const out: Record<string, string> = {};
  if (parsed && typeof parsed === 'object') for (const [k, v] of Object.entries(parsed)) if (typeof v === 'string') out[k] = v;
  return out;
}
