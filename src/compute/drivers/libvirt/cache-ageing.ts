import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageCacheAgeingReport } from '../driver.js';
import { instanceDir, type LibvirtContext } from './context.js';
import { uuidOfDomain } from './domain-xml.js';
import { KEPT_SUFFIX } from './kept-copy.js';
import { diskInfo } from './qemu-img.js';

/** The overlay files an instance folder may hold (root, ephemeral, swap). */
const OVERLAYS = ['disk', 'disk.local', 'disk.swap'] as const;

/**
 * The base files the instances on this host use: the backing file of every overlay under
 * instances_path, read from the qcow2 headers (`qemu-img info -U`, which running guests'
 * locks allow). The disks are the truth, not the database: an instance in ERROR, or one
 * whose row is gone, still keeps its base until its folder is removed.
 */
async function basesInUse(ctx: LibvirtContext, signal: AbortSignal): Promise<Set<string>> {
  const used = new Set<string>();
  for (const entry of await readdir(ctx.options.instancesPath).catch(() => [] as string[])) {
    // An instance folder, or the copy a resize or cold migration keeps until it is confirmed
    // (`<uuid>_resize`): its base must stay for a revert. _base and anything else are skipped.
    const uuid = entry.endsWith(KEPT_SUFFIX) ? entry.slice(0, -KEPT_SUFFIX.length) : entry;
    if (uuidOfDomain(`instance-${uuid}`) === undefined) continue;
    for (const file of OVERLAYS) {
      const info = await diskInfo(join(instanceDir(ctx, entry), file), signal, { forceShare: true }).catch(() => undefined);
      if (info !== undefined && info.backingFile !== null) used.add(info.backingFile);
    }
  }
  return used;
}

/**
 * Image-cache ageing (Nova's libvirt image cache manager): bases in use get their "last
 * used" time refreshed; an unused base is removed once it has been unused for
 * [image_cache] remove_unused_original_minimum_age_seconds, if remove_unused_base_images.
 */
export async function ageImageCache(ctx: LibvirtContext, signal: AbortSignal): Promise<ImageCacheAgeingReport> {
  const used = await basesInUse(ctx, signal);
  const report = await ctx.cache.age(used, ctx.options.removeUnusedBaseImages, ctx.options.removeUnusedMinimumAgeSeconds);
  for (const name of report.removed) ctx.log.info({ base: name }, 'removed unused cached image');
  return report;
}
