import { existsSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage } from '../../../errors.js';
import { PowerState, type FlavorSnapshot } from '../../states.js';
import { DriverError, type InstanceRef, type MigrationTarget } from '../driver.js';
import { instanceDir, type LibvirtContext } from './context.js';
import { domainName, domainOwner } from './domain-xml.js';
import { MANIFEST, ownKeptDir, readManifest, writeManifest, type MoveManifest } from './kept-copy.js';
import { existingState, inactiveXml } from './lookup.js';
import * as power from './power.js';
import { diskInfo } from './qemu-img.js';
import { isNoDomain, isOperationInvalid } from './virsh.js';

const GiB = 1024 ** 3;

/** Nova's shutdown_timeout default: how long the guest may take to power off cleanly before it is forced. */
export const MOVE_SHUTDOWN_TIMEOUT_SECONDS = 60;

async function tolerant(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!isNoDomain(err) && !isOperationInvalid(err)) throw err;
  }
}

/** A move refused before anything changed (the server stays as it was). */
export class MoveRefusedError extends DriverError {
  constructor(message: string) {
    super('move_refused', message);
  }
}

/**
 * Nova's refusals, checked on the disks themselves before anything changes: the root disk
 * never shrinks (a flavor root_gb of 0 means the image's size), nor does the ephemeral disk
 * (dropping it counts as shrinking). Swap is rebuilt at the destination, so it may change.
 */
async function refuseShrink(ctx: LibvirtContext, uuid: string, flavor: FlavorSnapshot, signal: AbortSignal): Promise<void> {
  const dir = instanceDir(ctx, uuid);
  const root = await diskInfo(join(dir, 'disk'), signal, { forceShare: true });
  let target = flavor.root_gb * GiB;
  if (target === 0 && root.backingFile !== null) target = (await diskInfo(root.backingFile, signal, { forceShare: true })).virtualSize;
  if (target < root.virtualSize) {
    throw new MoveRefusedError(
      `flavor ${flavor.name} has a ${flavor.root_gb} GB root disk, smaller than instance ${uuid}'s ${(root.virtualSize / GiB).toFixed(1)} GB one: a root disk cannot be shrunk, choose a flavor with root_gb >= ${Math.ceil(root.virtualSize / GiB)}`,
    );
  }
  const ephemeral = await diskInfo(join(dir, 'disk.local'), signal, { forceShare: true }).catch(() => undefined);
  if (ephemeral !== undefined && flavor.ephemeral_gb * GiB < ephemeral.virtualSize) {
    throw new MoveRefusedError(
      `flavor ${flavor.name} has a ${flavor.ephemeral_gb} GB ephemeral disk, smaller than instance ${uuid}'s ${Math.round(ephemeral.virtualSize / GiB)} GB one: an ephemeral disk cannot be shrunk`,
    );
  }
}

/**
 * Resize and cold migration, source side (Nova's migrate_disk_and_power_off): refusals first
 * (nothing changed), then the guest is powered off (ACPI, forced after the timeout), its
 * current definition saved as `libvirt.xml`, a manifest naming the destination written, and
 * the folder renamed `<uuid>_resize` (the one atomic step: the kept folder is the disk until
 * confirm). The domain stays defined, shut off, as in Nova (a destination on the same
 * libvirtd reads from it where the kept folder is, then defines its own in its place); a
 * revert defines it again from the kept XML, a confirm undefines it. The destination takes the disks
 * from the kept folder itself (see finish-migration.ts), whether it is this host, one
 * sharing instances_path, or one that reads this path as a local file path.
 *
 * Idempotent: after an agent restart the step is run again, and a kept folder with its
 * manifest and no instance folder means the handover is already done.
 */
export async function migrateDiskAndPowerOff(ctx: LibvirtContext, instance: InstanceRef, dest: MigrationTarget, flavor: FlavorSnapshot, signal: AbortSignal): Promise<void> {
  const dir = instanceDir(ctx, instance.uuid);
  const kept = ownKeptDir(ctx, instance.uuid);
  const name = domainName(instance.uuid);
  if (!existsSync(dir)) {
    const manifest = await readManifest(kept);
    if (manifest === undefined) throw new DriverError('instance_not_found', `instance ${instance.uuid} has no folder under ${ctx.options.instancesPath}`);
    if (manifest.destHost !== dest.host) throw new MoveRefusedError(`instance ${instance.uuid} was already handed to host ${manifest.destHost}, not ${dest.host}`);
    return;
  }
  if (dest.node === '') throw new MoveRefusedError('a resize or migration needs a destination node');
  const state = await existingState(ctx, instance, signal);
  await refuseShrink(ctx, instance.uuid, flavor, signal);
  if (existsSync(kept)) {
    throw new MoveRefusedError(
      `${kept} (the copy an earlier resize or migration of ${instance.uuid} kept) still exists; nothing was changed: remove it once it is not needed (it holds the disk as it was before that move)`,
    );
  }

  const wasRunning = state === PowerState.RUNNING || state === PowerState.PAUSED;
  await power.powerOff(ctx, instance, MOVE_SHUTDOWN_TIMEOUT_SECONDS, signal);
  try {
    await writeFile(join(dir, 'libvirt.xml'), await ctx.virsh.run(['dumpxml', '--inactive', name], signal));
    await writeManifest(dir, {
      uuid: instance.uuid, sourceHost: ctx.options.host, sourceInstancesPath: ctx.options.instancesPath, destHost: dest.host, destNode: dest.node, wasRunning,
    });
    await rename(dir, kept);
  } catch (err) {
    // Back as it was: no manifest, running again if it ran (the rename is the last step: it did not happen).
    const restore = AbortSignal.timeout(120_000);
    try {
      await rm(join(dir, MANIFEST), { force: true });
      if (wasRunning) await power.powerOn(ctx, instance, restore);
    } catch (again) {
      ctx.log.warn({ err: again, instance: instance.uuid }, 'restoring the instance after a failed resize handover failed');
    }
    throw new DriverError('migration_failed', `handing instance ${instance.uuid} over to ${dest.host} failed: ${errorMessage(err)}`, { cause: err });
  }
  ctx.log.info({ instance: instance.uuid, kept, dest: dest.host, sameHost: dest.host === ctx.options.host }, 'instance powered off and kept for the move');
}

/**
 * Revert, source side (Nova's finish_revert_migration), after the destination destroyed its
 * copy: the kept folder becomes the instance folder again (a leftover instance folder at
 * this path is the destination's and goes first), the domain is defined from the kept XML
 * (the old flavor) and started when it ran before. Idempotent: already restored is fine.
 */
export async function finishRevertMigration(ctx: LibvirtContext, instance: InstanceRef, options: { powerOn: boolean }, signal: AbortSignal): Promise<void> {
  const dir = instanceDir(ctx, instance.uuid);
  const kept = ownKeptDir(ctx, instance.uuid);
  if (existsSync(kept)) {
    if ((await readManifest(kept)) === undefined) throw new DriverError('migration_failed', `${kept} has no ${MANIFEST}: not a folder a move kept; nothing was changed`);
    if (existsSync(dir)) await rm(dir, { recursive: true, force: true });
    await rename(kept, dir);
  } else if (!existsSync(dir)) {
    throw new DriverError('migration_failed', `instance ${instance.uuid} has neither ${kept} nor ${dir}: there is nothing to revert to`);
  }
  await rm(join(dir, MANIFEST), { force: true });
  await ctx.virsh.run(['define', join(dir, 'libvirt.xml')], signal);
  if (options.powerOn) await power.powerOn(ctx, instance, signal);
  ctx.log.info({ instance: instance.uuid, powerOn: options.powerOn }, 'resize reverted: kept folder restored');
}

/**
 * Whether the domain libvirt knows under the instance's name is this host's own stale
 * definition (to undefine on confirm) rather than the destination's: never when the move
 * stayed on this host; else by the host our metadata names, or for a domain defined before
 * moves existed (no such metadata), by whether its root disk lies under this instances_path.
 */
function isOwnLeftover(ctx: LibvirtContext, xml: string, manifest: MoveManifest): boolean {
  if (manifest.destHost === ctx.options.host) return false;
  const owner = domainOwner(xml);
  if (owner.host !== undefined) return owner.host === ctx.options.host;
  return owner.instancesPath === ctx.options.instancesPath;
}

/**
 * Confirm, source side (Nova's confirm_migration): when the instance left this host, its old
 * domain definition here is undefined (one a destination made on the same libvirtd is left
 * alone), then the kept folder goes. Run again after a crash, it finishes what is left.
 */
export async function confirmMigration(ctx: LibvirtContext, instance: InstanceRef, signal: AbortSignal): Promise<void> {
  const kept = ownKeptDir(ctx, instance.uuid);
  const manifest = await readManifest(kept);
  if (manifest !== undefined) {
    const xml = await inactiveXml(ctx, instance.uuid, signal);
    if (xml !== undefined && isOwnLeftover(ctx, xml, manifest)) await tolerant(ctx.virsh.run(['undefine', '--managed-save', domainName(instance.uuid)], signal));
  }
  await rm(kept, { recursive: true, force: true });
}
