import { addAbortSignal, type Readable } from 'node:stream';
import type { ImageProvider, ImageSource } from '../compute/drivers/driver.js';
import type { Db } from '../db/database.js';
import { getImage, imageProperties } from '../db/repos/images.js';
import { ConflictError, NotFoundError, PolyvisorError } from '../errors.js';
import type { ImageStore } from './store/image-store.js';

/**
 * How the compute agent reads an image for a driver. Only active images with data can be
 * booted. `open` serves the format the image is stored in; producing another format
 * (qcow2 ↔ VMDK ↔ raw) is the disk-format service's job and not available yet, so asking
 * for one fails clearly instead of handing a driver bytes it cannot read.
 */
export function createImageProvider(db: Db, store: ImageStore): ImageProvider {
  return {
    async get(imageId: string, signal: AbortSignal): Promise<ImageSource> {
      signal.throwIfAborted();
      const row = await getImage(db, imageId);
      if (!row) throw new NotFoundError('Image', imageId);
      const location = row.location;
      if (row.status !== 'active' || location === null) {
        throw new ConflictError(`Image ${imageId} is ${row.status}: only an active image with data can be booted.`, { image: imageId, status: row.status });
      }
      return {
        id: row.id,
        name: row.name,
        diskFormat: row.disk_format,
        containerFormat: row.container_format,
        size: row.size,
        virtualSize: row.virtual_size,
        properties: imageProperties(row),
        async open(format: string | null, openSignal: AbortSignal): Promise<Readable> {
          openSignal.throwIfAborted();
          if (format !== null && format !== row.disk_format) {
            throw new PolyvisorError(
              'image_format_unavailable',
              `Image ${row.id} is stored as ${row.disk_format ?? 'an unknown format'}; the driver asked for ${format}, and image conversion is not available.`,
              { details: { image: row.id, stored: row.disk_format, wanted: format } },
            );
          }
          return addAbortSignal(openSignal, await store.open(location));
        },
      };
    },
  };
}
