import { getSystemMetadata, setSystemMetadata } from '../../../db/repos/instance-extras.js';
import type { InstanceRow } from '../../../db/schema.js';
import { DriverError, UnsupportedOperationError } from '../../drivers/driver.js';
import { TaskState } from '../../states.js';
import type { AgentContext } from '../context.js';
import { instanceRef } from '../instance-spec.js';
import { runOperation, TaskChanged } from './operation.js';

/** Every task state of createImage/createBackup: the API's first one, then the agent's steps (all resumable after a restart). */
export const SNAPSHOT_TASKS: readonly string[] = [
  TaskState.IMAGE_SNAPSHOT_PENDING,
  TaskState.IMAGE_BACKUP,
  TaskState.IMAGE_SNAPSHOT,
  TaskState.IMAGE_PENDING_UPLOAD,
  TaskState.IMAGE_UPLOADING,
];

/** System metadata keys the Compute API writes for a snapshot it hands to the agent. */
export const SNAPSHOT_IMAGE_KEY = 'snapshot_image_id';
export const BACKUP_TYPE_KEY = 'backup_type';
export const BACKUP_ROTATION_KEY = 'backup_rotation';

/**
 * Streams the instance's disk into the queued image the API created, stepping through
 * Nova's task states (pending upload, uploading). The driver's staging is released
 * whatever happens.
 */
export async function uploadSnapshot(
  ctx: AgentContext,
  row: InstanceRow,
  imageId: string,
  step: (taskState: string) => Promise<boolean>,
  states: { pending: string; uploading: string },
): Promise<void> {
  const { driver, images, signal } = ctx;
  if (!driver.snapshot) throw new UnsupportedOperationError('snapshot', driver.type);
  if (!images.upload) throw new DriverError('image_upload_unavailable', 'this compute agent has no image service to upload snapshots to');
  if (!(await step(states.pending))) throw new TaskChanged();
  const snap = await driver.snapshot(instanceRef(row), signal);
  try {
    if (!(await step(states.uploading))) throw new TaskChanged();
    await images.upload(imageId, snap.data, {
      diskFormat: snap.diskFormat,
      containerFormat: snap.containerFormat,
      ...(snap.properties === undefined ? {} : { properties: snap.properties }),
    }, signal);
  } finally {
    snap.data.destroy();
    await snap.release();
  }
}

/**
 * createImage (task image_snapshot_pending) and createBackup (task image_backup): the
 * snapshot goes into the image the API created; a backup then rotates, deleting the
 * oldest backups of the same type beyond `rotation`, as Nova's _rotate_backups does. On
 * failure the image is deleted and the server keeps its state.
 */
export async function snapshotTask(ctx: AgentContext, row: InstanceRow): Promise<void> {
  const sys = await getSystemMetadata(ctx.db, row.uuid);
  // Resumed after a restart the task may be any step: the backup's type says which action it is.
  const backup = row.task_state === TaskState.IMAGE_BACKUP || sys[BACKUP_TYPE_KEY] !== undefined;
  const imageId = sys[SNAPSHOT_IMAGE_KEY];
  const removeImage = async () => {
    if (imageId !== undefined) await ctx.images.remove?.(imageId);
  };
  await runOperation(ctx, row, {
    action: backup ? 'createBackup' : 'createImage',
    event: backup ? 'compute_backup_instance' : 'compute_snapshot_instance',
    taskStates: SNAPSHOT_TASKS,
    run: async (step) => {
      if (imageId === undefined) throw new DriverError('snapshot_image_missing', `no image was prepared for the snapshot of instance ${row.uuid}`);
      if (!backup && !(await step(TaskState.IMAGE_SNAPSHOT))) throw new TaskChanged();
      await uploadSnapshot(ctx, row, imageId, step, { pending: TaskState.IMAGE_PENDING_UPLOAD, uploading: TaskState.IMAGE_UPLOADING });
      if (backup) await rotateBackups(ctx, row, sys[BACKUP_TYPE_KEY] ?? '', Number(sys[BACKUP_ROTATION_KEY] ?? '0'));
      return {};
    },
    cleanup: removeImage,
  });
  await setSystemMetadata(ctx.db, row.uuid, { [SNAPSHOT_IMAGE_KEY]: null, [BACKUP_TYPE_KEY]: null, [BACKUP_ROTATION_KEY]: null });
}

/** Deletes the oldest backups of this instance and type (newest first kept) beyond `rotation`. */
async function rotateBackups(ctx: AgentContext, row: InstanceRow, backupType: string, rotation: number): Promise<void> {
  const rows = await ctx.db
    .selectFrom('images')
    .select(['id', 'properties', 'created_at'])
    .where('deleted', '=', 0)
    .where('owner', '=', row.project_id)
    .where('properties', 'like', `%${row.uuid}%`)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
  const backups = rows.filter((r) => {
    const p = parseProps(r.properties);
    return p['instance_uuid'] === row.uuid && p['image_type'] === 'backup' && p['backup_type'] === backupType;
  });
  for (const old of backups.slice(Math.max(0, rotation))) {
    await ctx.images.remove?.(old.id);
    ctx.logger.info({ instance: row.uuid, image: old.id }, 'rotated out an old backup');
  }
}

function parseProps(text: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
