import { errorMessage } from '../../../errors.js';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DriverError, type ImageSource, type InstanceSpec, type SpawnHooks, type SpawnResult } from '../driver.js';
import { instanceDir, type LibvirtContext } from './context.js';
import { destroy } from './destroy.js';
import { domainName, domainXml } from './domain-xml.js';
import { blankDisksOf, deviceName } from './blank-disks.js';
import { createOverlay } from './qemu-img.js';

const GiB = 1024 ** 3;

/** What spawn records for later calls (opaque to the agent). */
export interface LibvirtDriverInfo {
  readonly domain: string;
  readonly base: string;
  /** This host's instances_path: where a move's destination finds the folder kept here (`<uuid>_resize`). */
  readonly instancesPath?: string;
  readonly [key: string]: unknown;
}

/**
 * Boots an instance: base image from the cache, a qcow2 overlay grown to the flavor's root
 * disk, the domain defined (persistent) and started. Whatever an interrupted earlier attempt
 * left under this uuid is removed first; on failure everything created is removed again.
 * When that removal fails too, the error is not retryable (see the catch below).
 */
export async function spawn(ctx: LibvirtContext, instance: InstanceSpec, image: ImageSource, signal: AbortSignal, hooks?: SpawnHooks): Promise<SpawnResult> {
  // Wall-clock marks of each phase, logged when the domain runs (bench/libvirt reads them).
  const marks: Record<string, number> = { requested: Date.now() };
  const timings = (phase: string): void => {
    marks[phase] = Date.now();
  };
  // Personality files would need a config drive, which this driver does not build: ignored, said so.
  if ((instance.injectedFiles?.length ?? 0) > 0) ctx.log.info({ instance: instance.uuid, files: instance.injectedFiles?.length }, 'personality files ignored: the libvirt driver has no config drive to inject them');
  const dir = instanceDir(ctx, instance.uuid);
  // An earlier attempt's domain exists only with its folder (spawn makes the folder before it
  // defines the domain; destroy removes the folder last): no folder, no libvirt calls to make.
  if (existsSync(dir)) await destroy(ctx, instance, signal);
  timings('cleanup');
  const releases: (() => void)[] = [];
  try {
    await mkdir(dir, { recursive: true });
    const base = await ctx.cache.fetch(image, signal, hooks?.onProgress);
    releases.push(ctx.cache.hold(base.path));
    timings('image');
    const rootBytes = instance.flavor.root_gb * GiB;
    if (rootBytes > 0 && rootBytes < base.virtualSize) {
      throw new DriverError('flavor_disk_too_small', `flavor ${instance.flavor.name} has a ${instance.flavor.root_gb} GB root disk, smaller than image ${image.id} (${Math.ceil(base.virtualSize / GiB)} GB)`);
    }
    const disk = join(dir, 'disk');
    await createOverlay(disk, base.path, base.format, Math.max(rootBytes, base.virtualSize), signal);
    timings('overlay');
    // The flavor's ephemeral and swap disks: overlays of formatted blank bases, vdb and vdc.
    const extraDisks: { path: string; dev: string }[] = [];
    for (const [i, blank] of blankDisksOf(instance.flavor).entries()) {
      const blankBase = await ctx.cache.blank(blank, signal);
      releases.push(ctx.cache.hold(blankBase.path));
      const path = join(dir, blank.file);
      await createOverlay(path, blankBase.path, 'raw', blank.sizeBytes, signal);
      extraDisks.push({ path, dev: deviceName(i) });
    }
    timings('extraDisks');
    // [serial_console] enabled: serial port 0 listens on a free port of port_range, held until the domain is defined.
    const serial = await ctx.serialPorts?.acquire(ctx.virsh, instance.uuid, signal);
    if (serial !== undefined) releases.push(serial.release);
    const xml = domainXml({
      uuid: instance.uuid, displayName: instance.name, projectId: instance.projectId, userId: instance.userId, flavor: instance.flavor,
      virtType: ctx.options.virtType, cpuMode: ctx.options.cpuMode, disk: { path: disk, format: 'qcow2' }, extraDisks,
      bridge: ctx.bridge, withNic: instance.networks !== 'none', vncListen: ctx.options.vncEnabled ? ctx.options.vncListen : null,
      consoleLog: join(dir, 'console.log'), serialTcp: serial ?? null, host: ctx.options.host, instancesPath: ctx.options.instancesPath,
    });
    const xmlPath = join(dir, 'libvirt.xml');
    await writeFile(xmlPath, xml);
    timings('xml');
    await ctx.virsh.run(['define', xmlPath], signal);
    timings('define');
    await ctx.virsh.run(['start', domainName(instance.uuid)], signal);
    timings('start');
    for (const release of releases) release();
    hooks?.onProgress?.(100);
    ctx.log.info({ instance: instance.uuid, spawnMarks: marks }, 'domain started');
    // instancesPath: where a destination finds this host's kept folder when the instance moves.
    const info: LibvirtDriverInfo = { domain: domainName(instance.uuid), base: base.path, instancesPath: ctx.options.instancesPath };
    return { driverInfo: info };
  } catch (err) {
    for (const release of releases) release();
    // Clean up even when the caller's signal has fired: a half-built domain must not stay.
    const cleanup = await destroy(ctx, instance, AbortSignal.timeout(60_000)).then(
      () => undefined,
      (e: unknown) => e,
    );
    const why = err instanceof Error ? err.message : String(err);
    if (cleanup !== undefined) {
      ctx.log.warn({ err: cleanup, instance: instance.uuid }, 'cleanup after failed spawn failed');
      // What was built may still be here (libvirtd died between define and start, say). Never
      // retryable then: a reschedule would hand the instance to another host and orphan this
      // domain; as ERROR on this host, a delete (destroy) removes what remains.
      throw new DriverError('spawn_failed', `spawn of ${instance.uuid} failed: ${why}; cleaning up failed too (${errorMessage(cleanup)}): delete the server to remove what remains`, { cause: err });
    }
    if (err instanceof DriverError) throw err;
    throw new DriverError('spawn_failed', `spawn of ${instance.uuid} failed: ${why}`, { cause: err });
  }
}
