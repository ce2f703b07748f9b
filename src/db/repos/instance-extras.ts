import type { Db } from '../database.js';
import { now } from '../time.js';

/**
 * The instance's side tables of migration 0013-shelve: system metadata (Nova's
 * instance_system_metadata), server tags and the console output an agent last read.
 */

export async function getSystemMetadata(db: Db, uuid: string): Promise<Record<string, string>> {
  const rows = await db.selectFrom('instance_system_metadata').select(['key', 'value']).where('instance_uuid', '=', uuid).execute();
  return Object.fromEntries(rows.map((r) => [r.key, r.value]));
}

/** Sets keys (a null value removes the key); run it in the transaction that changes the instance. */
export async function setSystemMetadata(db: Db, uuid: string, values: Readonly<Record<string, string | null>>): Promise<void> {
  for (const [key, value] of Object.entries(values)) {
    await db.deleteFrom('instance_system_metadata').where('instance_uuid', '=', uuid).where('key', '=', key).execute();
    if (value !== null) await db.insertInto('instance_system_metadata').values({ instance_uuid: uuid, key, value }).execute();
  }
}

/** Reads and removes a key in one step (a secret handed to the agent is used once). */
export async function takeSystemMetadata(db: Db, uuid: string, key: string): Promise<string | undefined> {
  const row = await db.deleteFrom('instance_system_metadata').where('instance_uuid', '=', uuid).where('key', '=', key).returning('value').executeTakeFirst();
  return row?.value;
}

// --- server tags (2.26) ---

export async function listTags(db: Db, uuid: string): Promise<string[]> {
  const rows = await db.selectFrom('instance_tags').select('tag').where('instance_uuid', '=', uuid).orderBy('tag').execute();
  return rows.map((r) => r.tag);
}

/** Tags of many instances in one query (a list page). */
export async function tagsOf(db: Db, uuids: readonly string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>(uuids.map((u) => [u, []]));
  if (uuids.length === 0) return out;
  const rows = await db.selectFrom('instance_tags').select(['instance_uuid', 'tag']).where('instance_uuid', 'in', [...uuids]).orderBy('tag').execute();
  for (const r of rows) out.get(r.instance_uuid)?.push(r.tag);
  return out;
}

export async function replaceTags(db: Db, uuid: string, tags: readonly string[]): Promise<void> {
  await db.deleteFrom('instance_tags').where('instance_uuid', '=', uuid).execute();
  const unique = [...new Set(tags)];
  if (unique.length > 0) await db.insertInto('instance_tags').values(unique.map((tag) => ({ instance_uuid: uuid, tag }))).execute();
}

/** Adds a tag; false when it was already there. */
export async function addTag(db: Db, uuid: string, tag: string): Promise<boolean> {
  const exists = await db.selectFrom('instance_tags').select('tag').where('instance_uuid', '=', uuid).where('tag', '=', tag).executeTakeFirst();
  if (exists) return false;
  await db.insertInto('instance_tags').values({ instance_uuid: uuid, tag }).execute();
  return true;
}

/** Removes a tag; false when there was none. */
export async function removeTag(db: Db, uuid: string, tag: string): Promise<boolean> {
  const r = await db.deleteFrom('instance_tags').where('instance_uuid', '=', uuid).where('tag', '=', tag).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

// --- console output ---

export async function getConsoleOutput(db: Db, uuid: string) {
  return db.selectFrom('instance_console_output').selectAll().where('instance_uuid', '=', uuid).executeTakeFirst();
}

export async function putConsoleOutput(db: Db, uuid: string, value: { output: string | null; error: string | null }): Promise<void> {
  const t = now();
  await db.deleteFrom('instance_console_output').where('instance_uuid', '=', uuid).execute();
  await db.insertInto('instance_console_output').values({ instance_uuid: uuid, output: value.output, error: value.error, updated_at: t }).execute();
}
