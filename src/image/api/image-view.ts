import { imageProperties } from '../../db/repos/images.js';
import type { ImageRow } from '../../db/schema.js';
import { apiTime } from '../../db/time.js';

/** Glance's links are relative to the endpoint (clients join them with it). */
export const imageHref = (id: string): string => `/v2/images/${id}`;

/**
 * An image as Glance shows it: every core attribute, null when unknown, and the custom
 * properties at the top level beside them.
 */
export function imageView(row: ImageRow, tags: readonly string[]): Record<string, unknown> {
  return {
    ...imageProperties(row),
    id: row.id,
    name: row.name,
    status: row.status,
    visibility: row.visibility,
    protected: row.protected === 1,
    os_hidden: row.os_hidden === 1,
    checksum: row.checksum,
    os_hash_algo: row.os_hash_algo,
    os_hash_value: row.os_hash_value,
    owner: row.owner,
    size: row.size,
    virtual_size: row.virtual_size,
    min_ram: row.min_ram,
    min_disk: row.min_disk,
    disk_format: row.disk_format,
    container_format: row.container_format,
    created_at: apiTime(row.created_at),
    updated_at: apiTime(row.updated_at),
    tags: [...tags],
    // Glance with multiple stores enabled names the stores holding the data (import-routes.ts).
    ...(row.location !== null && row.status !== 'uploading' && row.status !== 'importing' ? { stores: 'file' } : {}),
    self: imageHref(row.id),
    file: `${imageHref(row.id)}/file`,
    schema: '/v2/schemas/image',
  };
}
