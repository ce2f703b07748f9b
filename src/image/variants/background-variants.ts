import type { ImageRow } from '../../db/schema.js';
import { imageProperties } from '../../db/repos/images.js';
import { ConfigError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { ImageStore } from '../store/image-store.js';
import { VariantCache } from './variant-cache.js';
import { qemuSourceFormat, variantFor } from './variant-format.js';

const FORMATS = ['raw', 'qcow2', 'vmdk'];

/**
 * The conversion task of the image service: after an upload, produce the image's variants
 * in `formats` ([image] variant_formats) in the background, one image at a time, so a boot
 * on another hypervisor finds them ready. Failures are logged; a boot would retry them.
 * Returns undefined when there is nothing to do (no formats, or a store without local files).
 */
export function backgroundVariants(store: ImageStore, formats: readonly string[], logger: Logger): ((image: ImageRow) => void) | undefined {
  const unknown = formats.filter((f) => !FORMATS.includes(f));
  if (unknown.length > 0) {
    throw new ConfigError(`[image] variant_formats: ${unknown.join(', ')} is not one of ${FORMATS.join(', ')}.`, { section: 'image', option: 'variant_formats' });
  }
  const localPath = store.localPath?.bind(store);
  if (formats.length === 0 || store.variantsDirectory === undefined || localPath === undefined) return undefined;
  const cache = new VariantCache(store.variantsDirectory);
  // qemu-img is CPU-heavy: one conversion at a time keeps uploads and boots responsive.
  let queue: Promise<void> = Promise.resolve();
  return (image) => {
    const properties = imageProperties(image);
    const source = qemuSourceFormat(image.disk_format, properties);
    const location = image.location;
    if (source === undefined || location === null) return;
    for (const format of formats) {
      const plan = variantFor(image.disk_format, properties, format);
      if (plan.kind !== 'convert') continue;
      queue = queue.then(async () => {
        const t0 = Date.now();
        try {
          const v = await cache.ensure({ location, path: localPath(location), format: source }, plan.target, AbortSignal.timeout(3_600_000));
          logger.info({ image: image.id, format, bytes: v.size, ms: Date.now() - t0, created: v.created }, 'image variant ready');
        } catch (err) {
          logger.warn({ err, image: image.id, format }, 'could not produce an image variant in the background');
        }
      });
    }
  };
}
