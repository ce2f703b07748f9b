import { isFault } from '../../../vsphere/index.js';
import type { ImageCacheAgeingReport } from '../driver.js';
import type { VmwareContext } from './context.js';
import { retrieveVms } from './power-sync.js';
import { usableDatastores } from './resources.js';
import type { ComputeTarget } from './topology.js';

const TS_MARKER = /^ts-(\d+)$/;

/** The image ids our VMs were built from (spawn writes `imageid:` into the annotation). */
async function imagesInUse(ctx: VmwareContext, signal: AbortSignal): Promise<Set<string>> {
  const used = new Set<string>();
  for (const o of await retrieveVms(ctx, ['config.annotation'], signal)) {
    const a = o.props['config.annotation'];
    const m = typeof a === 'string' ? /^imageid:(.+)$/m.exec(a) : null;
    if (m?.[1] !== undefined) used.add(m[1].trim());
  }
  return used;
}

/**
 * Image-cache ageing, as Nova's image cache manager does it: an entry no VM uses gets a
 * `ts-<unix seconds>` marker the first time it is seen unused; once the marker is older
 * than remove_unused_original_minimum_age_seconds, the entry is deleted (when
 * remove_unused_base_images is set). A used entry loses its marker. Entries this process
 * is transferring count as used. Cost: one PropertyCollector call, plus one folder
 * search per datastore.
 */
export async function ageImageCache(ctx: VmwareContext, targets: readonly ComputeTarget[], signal: AbortSignal): Promise<ImageCacheAgeingReport> {
  const used = await imagesInUse(ctx, signal);
  const now = Math.floor(Date.now() / 1000);
  const removed: string[] = [];
  let keptYoung = 0;
  let inUse = 0;
  const seen = new Set<string>();
  for (const target of targets) {
    for (const ds of usableDatastores(target, ctx.options.datastoreRegex)) {
      const key = `${target.datacenter.name}|${ds.name}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const cacheTarget = { datacenter: target.datacenter, datastore: ds.name };
      let folders;
      try {
        folders = await ctx.client.datastore(ds.ref).searchSubFolders(`[${ds.name}] ${ctx.options.cacheFolder}`, undefined, { signal });
      } catch (err) {
        if (isFault(err, 'FileNotFound')) continue;
        throw err;
      }
      for (const f of folders) {
        const m = /\] (.*?)\/?$/.exec(f.folderPath ?? '');
        const rel = m?.[1] ?? '';
        const parts = rel.split('/').filter((p) => p !== '');
        // Only the image folders themselves: "<cache folder>/<image id>".
        if (parts.length !== ctx.options.cacheFolder.split('/').length + 1) continue;
        const imageId = parts[parts.length - 1] ?? '';
        const markers = (f.file ?? []).map((x) => TS_MARKER.exec(x.path)).filter((x): x is RegExpExecArray => x !== null);
        if (used.has(imageId) || ctx.cache.busy(ds.name, imageId)) {
          inUse++;
          for (const mk of markers) await deleteQuietly(ctx, target, `[${ds.name}] ${rel}/${mk[0]}`, signal);
          continue;
        }
        const since = markers.length === 0 ? undefined : Math.min(...markers.map((mk) => Number(mk[1])));
        if (since === undefined) {
          await ctx.cache.mark(cacheTarget, `${rel}/ts-${now}`, '', signal);
        }
        const age = since === undefined ? 0 : now - since;
        if (ctx.options.removeUnusedBaseImages && age >= ctx.options.removeUnusedMinimumAgeSeconds) {
          await deleteQuietly(ctx, target, `[${ds.name}] ${rel}`, signal);
          ctx.cache.forget(ds.name, imageId);
          removed.push(`${ds.name}/${imageId}`);
          ctx.log.info({ image: imageId, datastore: ds.name, unusedSeconds: age }, 'removed unused cached image');
        } else {
          keptYoung++;
        }
      }
    }
  }
  return { removed, keptYoung, inUse };
}

async function deleteQuietly(ctx: VmwareContext, target: ComputeTarget, path: string, signal: AbortSignal): Promise<void> {
  await ctx.client.fileManager().deleteFile(path, target.datacenter.ref, { signal }).catch((err: unknown) => {
    if (!isFault(err, 'FileNotFound')) throw err;
  });
}
