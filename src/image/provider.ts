import { createReadStream } from 'node:fs';
import { addAbortSignal, type Readable } from 'node:stream';
import type { ImageProvider, ImageSource } from '../compute/drivers/driver.js';
import type { Db } from '../db/database.js';
import { deleteImage, getImage, imageProperties, updateImage } from '../db/repos/images.js';
import { ConflictError, NotFoundError, PolyvisorError } from '../errors.js';
import type { ImageStore } from './store/image-store.js';
import { qemuSourceFormat, variantFor } from './variants/variant-format.js';
import { VariantCache } from './variants/variant-cache.js';
import type { ConvertTarget } from './convert/qemu-img.js';

/**
 * How the compute agent reads an image for a driver. Only active images with data can be
 * booted. `open(null)` (or the stored format) streams the stored bytes; `open('vmdk' |
 * 'qcow2' | 'raw')` streams the variant in that format, produced once with qemu-img next to
 * the original and reused afterwards, so an image uploaded once boots on VMware and KVM.
 * Options:
 * - variants: where variants live (default: the store's variantsDirectory, when it has local files);
 * - formats: the disk formats the driver boots, best first (its capabilities.diskFormats). An
 *   image in none of them is presented as the first one a variant can be made in, produced
 *   by `get` (so its size is known): its diskFormat (and, for VMDK,
 *   vmware_disktype=streamOptimized) say what `open(null)` streams.
 */
export function createImageProvider(db: Db, store: ImageStore, options: { variants?: VariantCache; formats?: readonly string[] } = {}): ImageProvider {
  const variants = options.variants ?? (store.variantsDirectory === undefined ? undefined : new VariantCache(store.variantsDirectory));
  return {
    /**
     * A snapshot's bits for the image the Compute API created (queued): saving while they
     * stream into the store, then active with size and checksums, as an upload through the
     * Image API would leave it. The bits come from a hypervisor, not a user, so no content
     * inspector runs. The driver's `properties` are set over the image's. A failure puts the
     * image back to queued with nothing stored.
     */
    async upload(imageId, data, formats, signal) {
      // 'saving' too: an upload interrupted by a restart of its agent is done again (only that agent writes this image).
      const claimed = await updateImage(db, imageId, ['queued', 'saving'], { status: 'saving', disk_format: formats.diskFormat, container_format: formats.containerFormat });
      if (!claimed) throw new ConflictError(`Image ${imageId} is not queued (deleted, or uploaded already): the snapshot has nowhere to go.`, { image: imageId });
      let result;
      try {
        result = await store.put(data, { signal });
      } catch (err) {
        await updateImage(db, imageId, ['saving'], { status: 'queued' });
        throw err;
      }
      // The driver's properties describe these bits: they replace inherited ones (a base
      // image's vmware_disktype=streamOptimized must not survive into a flat snapshot), and
      // bits that are no VMDK (a libvirt qcow2) have no vmware_disktype at all.
      const inherited = JSON.parse(claimed.properties) as Record<string, unknown>;
      if (formats.diskFormat !== 'vmdk') delete inherited['vmware_disktype'];
      const properties = JSON.stringify({ ...inherited, ...formats.properties });
      const done = await updateImage(db, imageId, ['saving'], {
        status: 'active',
        properties,
        size: result.size,
        virtual_size: formats.diskFormat === 'raw' ? result.size : null,
        checksum: result.md5,
        os_hash_algo: 'sha512',
        os_hash_value: result.sha512,
        location: result.location,
      });
      if (!done) {
        await store.delete(result.location);
        throw new ConflictError(`Image ${imageId} was deleted while the snapshot was uploading; the data was discarded.`, { image: imageId });
      }
    },
    async remove(imageId) {
      const row = await deleteImage(db, imageId);
      if (row?.location) await store.delete(row.location);
    },
    async get(imageId: string, signal: AbortSignal): Promise<ImageSource> {
      signal.throwIfAborted();
      const row = await getImage(db, imageId);
      if (!row) throw new NotFoundError('Image', imageId);
      const location = row.location;
      if (row.status !== 'active' || location === null) {
        throw new ConflictError(`Image ${imageId} is ${row.status}: only an active image with data can be booted.`, { image: imageId, status: row.status });
      }
      const properties = imageProperties(row);
      const sourceFormat = qemuSourceFormat(row.disk_format, properties);
      const ensureVariant = async (target: ConvertTarget, wanted: string, openSignal: AbortSignal) => {
        if (!variants || !store.localPath || sourceFormat === undefined) {
          throw new PolyvisorError(
            'image_format_unavailable',
            `Image ${row.id} is stored as ${row.disk_format ?? 'an unknown format'}; the driver asked for ${wanted}, which this image store cannot produce (it has no local files).`,
            { details: { image: row.id, stored: row.disk_format, wanted } },
          );
        }
        return variants.ensure({ location, path: store.localPath(location), format: sourceFormat }, target, openSignal);
      };
      const stored: ImageSource = {
        id: row.id,
        name: row.name,
        diskFormat: row.disk_format,
        containerFormat: row.container_format,
        size: row.size,
        virtualSize: row.virtual_size,
        properties,
        async open(format: string | null, openSignal: AbortSignal): Promise<Readable> {
          openSignal.throwIfAborted();
          const plan = format === null ? ({ kind: 'same' } as const) : variantFor(row.disk_format, properties, format);
          if (plan.kind === 'same') return addAbortSignal(openSignal, await store.open(location));
          if (plan.kind === 'unavailable') {
            throw new PolyvisorError(
              'image_format_unavailable',
              `Image ${row.id} is stored as ${row.disk_format ?? 'an unknown format'}; the driver asked for ${format ?? ''}, which cannot be made from it.`,
              { details: { image: row.id, stored: row.disk_format, wanted: format } },
            );
          }
          const variant = await ensureVariant(plan.target, format ?? '', openSignal);
          return addAbortSignal(openSignal, createReadStream(variant.path));
        },
      };
      if (options.formats === undefined) return stored;
      const choice = chooseFormat(stored, options.formats);
      if (choice.kind === 'same') return choice.format === stored.diskFormat ? stored : { ...stored, diskFormat: choice.format };
      if (choice.kind === 'none') return stored;
      // Produced now (once; later boots reuse it), so the driver knows the size it will stream.
      const variant = await ensureVariant(choice.target, choice.format, signal);
      return {
        ...stored,
        diskFormat: choice.format,
        size: variant.size,
        properties: choice.format === 'vmdk' ? { ...properties, vmware_disktype: 'streamOptimized' } : properties,
        open: async (format, openSignal) =>
          format === null || format === choice.format ? addAbortSignal(openSignal, createReadStream(variant.path)) : stored.open(format, openSignal),
      };
    },
  };
}

/**
 * Which format a driver that boots only `formats` (best first) gets: one the stored bytes
 * already are (no conversion; a flat VMDK extent or an ISO is raw), else the first one a
 * variant can be made in. `hypervisor_type` is left alone: pinning is the scheduler's job.
 */
export function chooseFormat(
  image: Pick<ImageSource, 'diskFormat' | 'properties'>,
  formats: readonly string[],
): { kind: 'same'; format: string } | { kind: 'convert'; format: string; target: ConvertTarget } | { kind: 'none' } {
  if (image.diskFormat !== null && formats.includes(image.diskFormat)) return { kind: 'same', format: image.diskFormat };
  for (const f of formats) if (variantFor(image.diskFormat, image.properties, f).kind === 'same') return { kind: 'same', format: f };
  for (const f of formats) {
    const plan = variantFor(image.diskFormat, image.properties, f);
    if (plan.kind === 'convert') return { kind: 'convert', format: f, target: plan.target };
  }
  return { kind: 'none' };
}
