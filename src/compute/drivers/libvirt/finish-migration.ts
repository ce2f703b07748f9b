import { existsSync } from 'node:fs';
import { constants, copyFile, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage } from '../../../errors.js';
import { DriverError, type ImageSource, type InstanceSpec, type SpawnResult } from '../driver.js';
import { blankDisksOf, deviceName } from './blank-disks.js';
import { instanceDir, type LibvirtContext } from './context.js';
import { destroy } from './destroy.js';
import { domainName, domainOwner, domainXml } from './domain-xml.js';
import { inactiveXml } from './lookup.js';
import { keptDir, ownKeptDir, readManifest, sourceInstancesPath, type MoveManifest } from './kept-copy.js';
import { createOverlay, diskInfo, growDisk, repointBacking } from './qemu-img.js';
import type { LibvirtDriverInfo } from './spawn.js';

const GiB = 1024 ** 3;

/** How the destination reached the kept disks (logged, and told in errors). */
type Transport = 'same-host' | 'shared-instances-path' | 'local-copy';

interface KeptCopy {
  readonly dir: string;
  readonly manifest: MoveManifest;
  readonly transport: Transport;
}

/**
 * Finds the source's kept folder. First under this host's own instances_path: there it is
 * when the move stays on this host, or when both hosts share instances_path (Nova's
 * shared-storage check, a file one side wrote seen by the other: here the source's manifest).
 * Else at the source's instances path, read as a local path (both hosts on one machine, or the
 * source's path mounted at the same place here), as the instance's driver info records it or,
 * when that is lost (the agent clears it on a revert), as the source's domain definition names
 * it when both hosts share this libvirtd.
 */
async function findKept(ctx: LibvirtContext, instance: InstanceSpec, signal: AbortSignal): Promise<KeptCopy> {
  const own = ownKeptDir(ctx, instance.uuid);
  const tried: string[] = [];
  const look = async (dir: string): Promise<{ dir: string; manifest: MoveManifest } | undefined> => {
    if (tried.includes(dir)) return undefined;
    tried.push(dir);
    const manifest = await readManifest(dir);
    return manifest === undefined ? undefined : { dir, manifest };
  };
  let found = await look(own);
  const recorded = sourceInstancesPath(instance.driverInfo);
  if (found === undefined && recorded !== undefined) found = await look(keptDir(recorded, instance.uuid));
  if (found === undefined) {
    // The source's domain definition, when it shares this libvirtd (hosts on one machine), names its instances_path.
    const xml = await inactiveXml(ctx, instance.uuid, signal);
    const path = xml === undefined ? undefined : domainOwner(xml).instancesPath;
    if (path !== undefined) found = await look(keptDir(path, instance.uuid));
  }
  if (found === undefined) {
    throw new DriverError(
      'migration_source_unreachable',
      `the disks of instance ${instance.uuid} are not readable from host ${ctx.options.host} (looked for ${tried.join(' and ')}): this driver moves disks between hosts only through a shared instances_path or a source path readable here; they are kept on the source host`,
    );
  }
  if (found.manifest.uuid !== instance.uuid || found.manifest.destHost !== ctx.options.host) {
    throw new DriverError('migration_failed', `${found.dir} was kept for host ${found.manifest.destHost}, not this host ${ctx.options.host}`);
  }
  const transport: Transport = found.manifest.sourceHost === ctx.options.host ? 'same-host' : found.dir === own ? 'shared-instances-path' : 'local-copy';
  return { ...found, transport };
}

/** A file copy (copy-on-write clone where the file system offers one); the kept copy is never changed. */
async function copyIn(from: string, to: string): Promise<void> {
  await copyFile(from, to, constants.COPYFILE_FICLONE | constants.COPYFILE_EXCL);
}

/**
 * Resize and cold migration, destination side (Nova's finish_migration). The instance folder
 * is built from the kept one in a staging folder (`.<uuid>.migrating`), then renamed into
 * place: the root overlay is copied, pointed at this host's cached base (fetched like spawn
 * does when missing) and grown to the new flavor's root_gb (never shrunk: a smaller size is
 * refused); the ephemeral disk is copied and grown, or made when the new flavor adds one;
 * swap is made afresh at the new size. Then the domain is defined with the new vCPUs and
 * memory and started when the instance ran before. The kept folder is only read, so a
 * failure (or a crash, after which the step runs again from the start) loses nothing.
 */
export async function finishMigration(ctx: LibvirtContext, instance: InstanceSpec, image: ImageSource, options: { powerOn: boolean }, signal: AbortSignal): Promise<SpawnResult> {
  const kept = await findKept(ctx, instance, signal);
  const dir = instanceDir(ctx, instance.uuid);
  const staging = join(ctx.options.instancesPath, `.${instance.uuid}.migrating`);
  const flavor = instance.flavor;
  const releases: (() => void)[] = [];
  try {
    // An interrupted earlier attempt here: its domain and folder are ours (the source's own
    // folder is the kept one, elsewhere by name), so they go before the folder is rebuilt.
    await destroy(ctx, instance, signal);
    await rm(staging, { recursive: true, force: true });
    await mkdir(staging, { recursive: true });

    const base = await ctx.cache.fetch(image, signal);
    releases.push(ctx.cache.hold(base.path));
    const disk = join(staging, 'disk');
    await copyIn(join(kept.dir, 'disk'), disk);
    const root = await diskInfo(disk, signal);
    if (root.backingFile !== base.path) await repointBacking(disk, base.path, base.format, signal);
    const rootBytes = Math.max(flavor.root_gb * GiB, base.virtualSize);
    if (rootBytes < root.virtualSize) {
      throw new DriverError('flavor_disk_too_small', `flavor ${flavor.name} has a ${flavor.root_gb} GB root disk, smaller than instance ${instance.uuid}'s ${(root.virtualSize / GiB).toFixed(1)} GB one: a root disk cannot be shrunk`);
    }
    if (rootBytes > root.virtualSize) await growDisk(disk, rootBytes, signal);

    const extraDisks: { path: string; dev: string }[] = [];
    const keptEphemeral = join(kept.dir, 'disk.local');
    for (const [i, blank] of blankDisksOf(flavor).entries()) {
      const path = join(staging, blank.file);
      if (blank.file === 'disk.local' && existsSync(keptEphemeral)) {
        await copyIn(keptEphemeral, path);
        const info = await diskInfo(path, signal);
        // Its base is the blank of the size it was made with: the same file name in this host's cache.
        const [oldBlank] = blankDisksOf({ ephemeral_gb: Math.round(info.virtualSize / GiB), swap: 0 });
        if (oldBlank !== undefined && info.backingFile !== null) {
          const oldBase = await ctx.cache.blank(oldBlank, signal);
          releases.push(ctx.cache.hold(oldBase.path));
          if (info.backingFile !== oldBase.path) await repointBacking(path, oldBase.path, 'raw', signal);
        }
        if (blank.sizeBytes < info.virtualSize) throw new DriverError('flavor_disk_too_small', `flavor ${flavor.name} has a ${flavor.ephemeral_gb} GB ephemeral disk, smaller than the instance's: an ephemeral disk cannot be shrunk`);
        if (blank.sizeBytes > info.virtualSize) await growDisk(path, blank.sizeBytes, signal);
      } else {
        const blankBase = await ctx.cache.blank(blank, signal);
        releases.push(ctx.cache.hold(blankBase.path));
        await createOverlay(path, blankBase.path, 'raw', blank.sizeBytes, signal);
      }
      extraDisks.push({ path: join(dir, blank.file), dev: deviceName(i) });
    }
    if (existsSync(keptEphemeral) && flavor.ephemeral_gb === 0) {
      throw new DriverError('flavor_disk_too_small', `flavor ${flavor.name} has no ephemeral disk but instance ${instance.uuid} has one: an ephemeral disk cannot be dropped`);
    }

    // [serial_console] enabled: this host's own port for serial port 0, as a spawn takes one.
    const serial = await ctx.serialPorts?.acquire(ctx.virsh, instance.uuid, signal);
    if (serial !== undefined) releases.push(serial.release);
    const xml = domainXml({
      uuid: instance.uuid, displayName: instance.name, projectId: instance.projectId, userId: instance.userId, flavor,
      virtType: ctx.options.virtType, cpuMode: ctx.options.cpuMode, disk: { path: join(dir, 'disk'), format: 'qcow2' }, extraDisks,
      bridge: ctx.bridge, withNic: instance.networks !== 'none', vncListen: ctx.options.vncEnabled ? ctx.options.vncListen : null,
      consoleLog: join(dir, 'console.log'), serialTcp: serial ?? null, host: ctx.options.host, instancesPath: ctx.options.instancesPath,
    });
    await writeFile(join(staging, 'libvirt.xml'), xml);
    await rename(staging, dir);
    await ctx.virsh.run(['define', join(dir, 'libvirt.xml')], signal);
    if (options.powerOn) await ctx.virsh.run(['start', domainName(instance.uuid)], signal);
    for (const release of releases) release();
    ctx.log.info({ instance: instance.uuid, from: kept.manifest.sourceHost, transport: kept.transport, vcpus: flavor.vcpus, memoryMb: flavor.memory_mb, rootGb: flavor.root_gb }, 'migrated instance finished');
    const info: LibvirtDriverInfo = { domain: domainName(instance.uuid), base: base.path, instancesPath: ctx.options.instancesPath };
    return { driverInfo: info };
  } catch (err) {
    for (const release of releases) release();
    const cleanup = AbortSignal.timeout(60_000);
    await rm(staging, { recursive: true, force: true }).catch(() => undefined);
    await destroy(ctx, instance, cleanup).catch((e: unknown) => ctx.log.warn({ err: e, instance: instance.uuid }, 'cleanup after a failed finishMigration failed'));
    const why = `finishing the move of instance ${instance.uuid} on ${ctx.options.host} failed: ${errorMessage(err)}; its disks are kept unchanged in ${kept.dir} on host ${kept.manifest.sourceHost}`;
    throw new DriverError(err instanceof DriverError ? err.code : 'migration_failed', why, { cause: err });
  }
}
