import { randomUUID } from 'node:crypto';
import type { Db } from '../../../db/database.js';
import { getImage, imageProperties } from '../../../db/repos/images.js';
import type { InstanceRow } from '../../../db/schema.js';
import { now } from '../../../db/time.js';
import { parseFlavor } from '../../scheduler/request-spec.js';

/** Properties of the base image a snapshot does not inherit (facts of the old bits, or set below). */
const NOT_INHERITED = new Set(['instance_uuid', 'image_type', 'backup_type', 'base_image_ref', 'user_id', 'owner_project_name', 'owner_user_name', 'image_location', 'image_state', 'block_device_mapping', 'bdm_v2', 'root_device_name']);

/**
 * The image record of a snapshot (createImage, createBackup, shelve), queued until the
 * agent uploads the bits, as Nova's compute API creates it in Glance first: private to the
 * server's project, the base image's properties inherited, then Nova's own ones —
 * instance_uuid, image_type (snapshot | backup), base_image_ref, user_id, plus `extra`
 * (backup_type) and the user's metadata. min_disk is the flavor's root disk (at least the
 * base image's), min_ram the base image's. Formats are set by the agent from the driver.
 */
export async function createSnapshotImage(
  db: Db,
  row: InstanceRow,
  o: { name: string; userId: string; imageType: 'snapshot' | 'backup'; extra?: Record<string, string>; metadata?: Record<string, string> },
): Promise<string> {
  const base = row.image_ref === '' ? undefined : await getImage(db, row.image_ref);
  const inherited = base ? Object.fromEntries(Object.entries(imageProperties(base)).filter(([k]) => !NOT_INHERITED.has(k))) : {};
  const properties: Record<string, string> = {
    ...inherited,
    instance_uuid: row.uuid,
    image_type: o.imageType,
    base_image_ref: row.image_ref,
    user_id: o.userId,
    ...(o.extra ?? {}),
    ...(o.metadata ?? {}),
  };
  const id = randomUUID();
  const t = now();
  let rootGb = 0;
  try {
    rootGb = parseFlavor(row.flavor).root_gb;
  } catch {
    rootGb = 0;
  }
  // A plain insert: this runs inside the action's transaction (insertImage opens its own).
  await db.insertInto('images').values({
    id,
    name: o.name,
    status: 'queued',
    disk_format: null,
    container_format: null,
    visibility: 'private',
    protected: 0,
    owner: row.project_id,
    size: null,
    virtual_size: null,
    checksum: null,
    os_hash_algo: null,
    os_hash_value: null,
    min_disk: Math.max(rootGb, base?.min_disk ?? 0),
    min_ram: base?.min_ram ?? 0,
    properties: JSON.stringify(properties),
    location: null,
    created_at: t,
    updated_at: t,
    deleted: 0,
  }).execute();
  return id;
}
