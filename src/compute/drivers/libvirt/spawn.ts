import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DriverError, type ImageSource, type InstanceSpec, type SpawnHooks, type SpawnResult } from '../driver.js';
import { instanceDir, type LibvirtContext } from './context.js';
import { destroy } from './destroy.js';
import { domainName, domainXml } from './domain-xml.js';
import { createOverlay } from './qemu-img.js';

const GiB = 1024 ** 3;

/** What spawn records for later calls (opaque to the agent). */
export interface LibvirtDriverInfo {
  readonly domain: string;
  readonly base: string;
  readonly [key: string]: unknown;
}

/**
 * Boots an instance: base image from the cache, a qcow2 overlay grown to the flavor's root
 * disk, the domain defined (persistent) and started. Whatever an interrupted earlier attempt
 * left under this uuid is removed first; on failure everything created is removed again.
 */
export async function spawn(ctx: LibvirtContext, instance: InstanceSpec, image: ImageSource, signal: AbortSignal, hooks?: SpawnHooks): Promise<SpawnResult> {
  await destroy(ctx, instance, signal);
  const dir = instanceDir(ctx, instance.uuid);
  try {
    await mkdir(dir, { recursive: true });
    const base = await ctx.cache.fetch(image, signal, hooks?.onProgress);
    const rootBytes = instance.flavor.root_gb * GiB;
    if (rootBytes > 0 && rootBytes < base.virtualSize) {
      throw new DriverError('flavor_disk_too_small', `flavor ${instance.flavor.name} has a ${instance.flavor.root_gb} GB root disk, smaller than image ${image.id} (${Math.ceil(base.virtualSize / GiB)} GB)`);
    }
    const disk = join(dir, 'disk');
    await createOverlay(disk, base.path, base.format, Math.max(rootBytes, base.virtualSize), signal);
    const xml = domainXml({
      uuid: instance.uuid, displayName: instance.name, projectId: instance.projectId, userId: instance.userId, flavor: instance.flavor,
      virtType: ctx.options.virtType, cpuMode: ctx.options.cpuMode, disk: { path: disk, format: 'qcow2' },
      bridge: ctx.bridge, withNic: instance.networks !== 'none', vncListen: ctx.options.vncEnabled ? ctx.options.vncListen : null,
      consoleLog: join(dir, 'console.log'),
    });
    const xmlPath = join(dir, 'libvirt.xml');
    await writeFile(xmlPath, xml);
    await ctx.virsh.run(['define', xmlPath], signal);
    await ctx.virsh.run(['start', domainName(instance.uuid)], signal);
    hooks?.onProgress?.(100);
    const info: LibvirtDriverInfo = { domain: domainName(instance.uuid), base: base.path };
    return { driverInfo: info };
  } catch (err) {
    // Clean up even when the caller's signal has fired: a half-built domain must not stay.
    await destroy(ctx, instance, AbortSignal.timeout(60_000)).catch((e: unknown) => ctx.log.warn({ err: e, instance: instance.uuid }, 'cleanup after failed spawn failed'));
    if (err instanceof DriverError) throw err;
    throw new DriverError('spawn_failed', `spawn of ${instance.uuid} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}
