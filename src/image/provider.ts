import { createReadStream } from 'node:fs';
import { addAbortSignal, type Readable } from 'node:stream';
import type { ImageProvider, ImageSource } from '../compute/drivers/driver.js';
import type { Db } from '../db/database.js';
import { getImage, imageProperties } from '../db/repos/images.js';
import { ConflictError, NotFoundError, PolyvisorError } from '../errors.js';
import type { ImageStore } from './store/image-store.js';
import { qemuSourceFormat, variantFor } from './variants/variant-format.js';
import { VariantCache } from './variants/variant-cache.js';

/**
 * How the compute agent reads an image for a driver. Only active images with data can be
 * booted. `open(null)` (or the stored format) streams the stored bytes; `open('vmdk' |
 * 'qcow2' | 'raw')` streams the variant in that format, produced once with qemu-img next to
 * the original and reused afterwards, so an image uploaded once boots on VMware and KVM.
 * Options:
 * - variants: where variants live (default: the store's variantsDirectory, when it has local files);
 * - formats: the disk formats the driver boots, best first (its capabilities.diskFormats). An
 *   image in none of them is presented as the first one a variant can be made in: its
 *   diskFormat (and, for VMDK, vmware_disktype=streamOptimized) say what `open(null)` streams.
 */
export function createImageProvider(db: Db, store: ImageStore, options: { variants?: VariantCache; formats?: readonly string[] } = {}): ImageProvider {
  const variants = options.variants ?? (store.variantsDirectory === undefined ? undefined : new VariantCache(store.variantsDirectory));
  return {
    async get(imageId: string, signal: AbortSignal): Promise<ImageSource> {
      signal.throwIfAborted();
      const row = await getImage(db, imageId);
      if (!row) throw new NotFoundError('Image', imageId);
      const location = row.location;
      if (row.status !== 'active' || location === null) {
        throw new ConflictError(`Image ${imageId} is ${row.status}: only an active image with data can be booted.`, { image: imageId, status: row.status });
      }
      const stored: ImageSource = {
        id: row.id,
        name: row.name,
        diskFormat: row.disk_format,
        containerFormat: row.container_format,
        size: row.size,
        virtualSize: row.virtual_size,
        properties: imageProperties(row),
        async open(format: string | null, openSignal: AbortSignal): Promise<Readable> {
          openSignal.throwIfAborted();
          const properties = imageProperties(row);
          const plan = format === null ? ({ kind: 'same' } as const) : variantFor(row.disk_format, properties, format);
          if (plan.kind === 'same') return addAbortSignal(openSignal, await store.open(location));
          const sourceFormat = qemuSourceFormat(row.disk_format, properties);
          if (plan.kind === 'unavailable' || !variants || !store.localPath || sourceFormat === undefined) {
            throw new PolyvisorError(
              'image_format_unavailable',
              `Image ${row.id} is stored as ${row.disk_format ?? 'an unknown format'}; the driver asked for ${format ?? ''}, which ${plan.kind === 'unavailable' ? 'cannot be made from it' : 'this image store cannot produce (it has no local files)'}.`,
              { details: { image: row.id, stored: row.disk_format, wanted: format } },
            );
          }
          const variant = await variants.ensure({ location, path: store.localPath(location), format: sourceFormat }, plan.target, openSignal);
          return addAbortSignal(openSignal, createReadStream(variant.path));
        },
      };
      return options.formats === undefined ? stored : presentAs(stored, options.formats);
    },
  };
}

/**
 * The image as a driver that boots only `formats` sees it: unchanged when it already is one
 * of them (or its bytes are, like a flat VMDK extent for raw), else as the first format a
 * variant can be made in. `hypervisor_type` is left alone: pinning is the scheduler's job.
 */
export function presentAs(image: ImageSource, formats: readonly string[]): ImageSource {
  const properties = image.properties;
  // No conversion when the bytes already suit (a flat VMDK extent or an ISO is raw to KVM).
  const same = formats.find((f) => variantFor(image.diskFormat, properties, f).kind === 'same');
  if (same !== undefined) return same === image.diskFormat || formats.includes(image.diskFormat ?? '') ? image : { ...image, diskFormat: same };
  const target = formats.find((f) => variantFor(image.diskFormat, properties, f).kind === 'convert');
  if (target === undefined) return image;
  return {
    ...image,
    diskFormat: target,
    // The variant's size is known once it exists; the virtual size does not change.
    size: null,
    properties: target === 'vmdk' ? { ...properties, vmware_disktype: 'streamOptimized' } : properties,
    open: (format, signal) => image.open(format ?? target, signal),
  };
}
