import { now } from '../../db/time.js';
import type { ImageApiDeps } from './deps.js';

/**
 * Uploads whose API process died midway (kill -9, a crash, a lost host). The upload route
 * touches the image's updated_at every UPLOAD_HEARTBEAT_MS while data flows, so an image
 * still `saving` with no touch for ABANDONED_AFTER_MS has nobody writing it, whichever API
 * process started the upload. Such an image goes back to `queued` (the state a failed
 * upload leaves, so the user can simply upload again; Glance leaves it `saving` for ever),
 * and the store's temporary files that stopped growing as long are removed.
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
    .where('status', '=', 'saving')
    .where('deleted', '=', 0)
    .where('updated_at', '<', cutoff)
    .returning(['id'])
    .execute();
  const requeued = rows.map((r) => r.id);
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
