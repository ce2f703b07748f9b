import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../config/options.js';
import type { Db } from '../db/database.js';
import type { Logger } from '../log.js';
import { imageApi } from './api/routes.js';
import { diskInspectorsFor } from './formats/index.js';
import { backgroundVariants } from './variants/background-variants.js';
import type { UploadInspector } from './api/deps.js';
import type { ImageRow } from '../db/schema.js';
import { FileImageStore } from './store/file-store.js';
import type { ImageStore } from './store/image-store.js';

export type { ImageStore, PutOptions, PutResult, StreamObserver, ByteRange } from './store/image-store.js';
export type { UploadInspector, UploadFacts } from './api/deps.js';
export { FileImageStore } from './store/file-store.js';
export { createImageProvider } from './provider.js';
export { diskInspectorsFor, ImageContentError } from './formats/index.js';
export { VariantCache } from './variants/variant-cache.js';
export { convertImage, type ConvertTarget, type QemuFormat } from './convert/qemu-img.js';

/**
 * The Image API v2 (Glance-compatible) as a Fastify plugin; register it with
 * `app.register(imageRoutes(deps), { prefix: '/image' })` on the shared API server.
 * - db: the database (images, image_tags, image_members tables);
 * - config: reads [image] image_size_cap (largest upload; 413 beyond) and [api] max_limit;
 * - logger: for the upload and cleanup lines (requests log through Fastify's logger);
 * - store: where image data goes (createImageStore(config));
 * - publicUrl: base URL of the API server, e.g. http://127.0.0.1:8774, for version links;
 * - inspectorsFor (optional): streaming inspectors to run over each upload of an image;
 *   by default the disk-format inspectors (diskInspectorsFor(config)): content detection,
 *   safety checks, property checks and fill-in while the upload streams. Pass `() => []` to
 *   store uploads unexamined.
 * With [image] variant_formats set, each upload is followed by its conversion to those formats
 * in the background (one at a time), into the store's variants directory.
 */
export function imageRoutes(deps: {
  db: Db;
  config: Config;
  logger: Logger;
  store: ImageStore;
  publicUrl: () => string;
  inspectorsFor?: (image: ImageRow) => UploadInspector[];
}): FastifyPluginAsync {
  const afterUpload = backgroundVariants(deps.store, deps.config.image.variant_formats, deps.logger);
  return imageApi({ ...deps, inspectorsFor: deps.inspectorsFor ?? diskInspectorsFor(deps.config), ...(afterUpload ? { afterUpload } : {}) });
}

/** The image store named by the configuration: files under [glance_store] filesystem_store_datadir. */
export function createImageStore(config: Config): ImageStore {
  return new FileImageStore(config.glance_store.filesystem_store_datadir);
}
