import { now } from '../../db/time.js';
import type { ImageApiDeps } from './deps.js';

/**
 * Uploads whose API process died midway (kill -9, a crash, a lost host). The upload route
 * touches the image's updated_at every UPLOAD_HEARTBEAT_MS while data flows, so an image
 * still `saving` with no touch for ABANDONED_AFTER_MS has nobody writing it, whichever API
 * process started the upload. Such an image goes back to `queued` (the state a failed
 * upload leaves, so the user can simply upload again; Glance leaves it `saving` for ever),
 * and the store's temporary files that stopped growing as long are removed.
 * The same holds for data arriving by the import routes, which beat the same heartbeat: an
 * image `uploading` with no staged data yet (its stage request died), and an image `importing`
 * with no data (its web-download died; it also gets os_glance_failed_import, as a failed
 * import does). A staged image (`uploading` with data) waits for its import call: not stale.
 */
export const UPLOAD_HEARTBEAT_MS = 15_000;
export const ABANDONED_AFTER_MS = 120_000;
const SWEEP_EVERY_MS = 60_000;

export interface SweepResult {
  /** Images put back to queued. */
  readonly requeued: readonly string[];
  /** Temporary upload files removed from the store. */
  readonly tempFilesRemoved: number;
}

export async function sweepAbandonedUploads(deps: Pick<ImageApiDeps, 'db' | 'store' | 'logger'>, abandonedAfterMs = ABANDONED_AFTER_MS): Promise<SweepResult> {
  const cutoff = new Date(Date.now() - abandonedAfterMs).toISOString();
  const rows = await deps.db
    .updateTable('images')
    .set({ status: 'queued', updated_at: now() })
    .where((eb) => eb.or([eb('status', '=', 'saving'), eb.and([eb('status', '=', 'uploading'), eb('location', 'is', null)])]))
    .where('deleted', '=', 0)
    .where('updated_at', '<', cutoff)
    .returning(['id'])
    .execute();
  const requeued = rows.map((r) => r.id);
  const imports = await deps.db
    .selectFrom('images')
    .select(['id', 'properties'])
    .where('status', '=', 'importing')
    .where('location', 'is', null)
    .where('deleted', '=', 0)
    .where('updated_at', '<', cutoff)
    .execute();
  for (const row of imports) {
    const { os_glance_import_task: _task, ...props } = JSON.parse(row.properties) as Record<string, unknown>;
    const done = await deps.db
      .updateTable('images')
      .set({ status: 'queued', updated_at: now(), properties: JSON.stringify({ ...props, os_glance_importing_to_stores: '', os_glance_failed_import: 'file' }) })
      .where('id', '=', row.id)
      .where('status', '=', 'importing')
      .where('updated_at', '<', cutoff)
      .executeTakeFirst();
    if (done.numUpdatedRows > 0n) requeued.push(row.id);
  }
  for (const id of requeued) {
    deps.logger.warn({ image: id }, `image upload abandoned (no data for ${abandonedAfterMs / 1000} s, its API process is gone): image back to queued, upload it again`);
  }
  const tempFilesRemoved = (await deps.store.removeStaleTemporaries?.(abandonedAfterMs)) ?? 0;
  if (tempFilesRemoved > 0) deps.logger.info({ files: tempFilesRemoved }, 'removed temporary files of abandoned image uploads');
  return { requeued, tempFilesRemoved };
}

/** Sweeps once at start and then every minute until stopped; returns the stop function. */
export function startAbandonedUploadSweeper(deps: Pick<ImageApiDeps, 'db' | 'store' | 'logger'>): () => void {
  const sweep = (): void => {
    sweepAbandonedUploads(deps).catch((err: unknown) => deps.logger.error({ err }, 'sweeping abandoned image uploads failed'));
  };
  sweep();
  const timer = setInterval(sweep, SWEEP_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
