import type { ImageCacheAgeingReport } from '../drivers/driver.js';
import type { AgentContext } from './context.js';

/**
 * One image-cache ageing pass (Nova's _run_image_cache_manager_pass): asks the driver to
 * age its cache and logs what it did. Undefined when the driver keeps no image cache.
 * Which entries go (remove_unused_base_images, the minimum age) is the driver's business:
 * it read those options at construction.
 */
export async function ageImageCache(ctx: AgentContext): Promise<ImageCacheAgeingReport | undefined> {
  const { driver } = ctx;
  if (driver.ageImageCache === undefined) return undefined;
  const started = Date.now();
  const report = await driver.ageImageCache(ctx.signal);
  ctx.logger.info(
    { removed: report.removed, removedCount: report.removed.length, keptYoung: report.keptYoung, inUse: report.inUse, ms: Date.now() - started },
    report.removed.length > 0 ? `image cache ageing removed ${report.removed.length} unused cached image(s)` : 'image cache ageing: nothing to remove',
  );
  return report;
}
