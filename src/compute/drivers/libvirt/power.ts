import { setTimeout as delay } from 'node:timers/promises';
import { PowerState } from '../../states.js';
import { DriverError, type InstanceRef } from '../driver.js';
import type { LibvirtContext } from './context.js';
import { domainName } from './domain-xml.js';
import { existingState } from './lookup.js';
import { isOperationInvalid } from './virsh.js';

const POLL_MS = 200;

async function virsh(ctx: LibvirtContext, args: string[], signal: AbortSignal, tolerateInvalid = false): Promise<void> {
  try {
    await ctx.virsh.run(args, signal);
  } catch (err) {
    if (!(tolerateInvalid && isOperationInvalid(err))) throw err;
  }
}

/** Waits until the domain is shut off, up to `seconds`; true when it is. */
async function waitShutOff(ctx: LibvirtContext, instance: InstanceRef, seconds: number, signal: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    if ((await existingState(ctx, instance, signal)) === PowerState.SHUTDOWN) return true;
    if (Date.now() >= deadline) return false;
    await delay(POLL_MS, undefined, { signal });
  }
}

/**
 * ACPI shutdown, waiting up to `timeoutSeconds` for the guest to power off, then forced
 * (`virsh destroy`). A suspended instance loses its saved memory and is simply off.
 */
export async function powerOff(ctx: LibvirtContext, instance: InstanceRef, timeoutSeconds: number, signal: AbortSignal): Promise<void> {
  const name = domainName(instance.uuid);
  const state = await existingState(ctx, instance, signal);
  if (state === PowerState.SHUTDOWN) return;
  if (state === PowerState.SUSPENDED) {
    await virsh(ctx, ['managedsave-remove', name], signal);
    return;
  }
  if (state === PowerState.RUNNING && timeoutSeconds > 0) {
    await virsh(ctx, ['shutdown', name], signal, true);
    if (await waitShutOff(ctx, instance, timeoutSeconds, signal)) return;
    ctx.log.info({ instance: instance.uuid, timeoutSeconds }, 'guest ignored ACPI shutdown; forcing power off');
  }
  await virsh(ctx, ['destroy', name], signal, true);
}

/** Starts a stopped (or restores a suspended) domain, unpauses a paused one; nothing to do when running. */
export async function powerOn(ctx: LibvirtContext, instance: InstanceRef, signal: AbortSignal): Promise<void> {
  const name = domainName(instance.uuid);
  const state = await existingState(ctx, instance, signal);
  if (state === PowerState.RUNNING) return;
  if (state === PowerState.PAUSED) await virsh(ctx, ['resume', name], signal, true);
  else await virsh(ctx, ['start', name], signal, true);
}

/**
 * HARD: the domain is stopped and started again (a fresh QEMU, saved memory discarded).
 * SOFT: ACPI shutdown, then started again once off; a guest that does not power off within
 * wait_soft_reboot_seconds (or an instance that is not running) gets a hard reboot, as in Nova.
 */
export async function reboot(ctx: LibvirtContext, instance: InstanceRef, kind: 'SOFT' | 'HARD', signal: AbortSignal): Promise<void> {
  const name = domainName(instance.uuid);
  const state = await existingState(ctx, instance, signal);
  if (kind === 'SOFT' && state === PowerState.RUNNING) {
    await virsh(ctx, ['shutdown', name], signal, true);
    if (await waitShutOff(ctx, instance, ctx.waitSoftRebootSeconds, signal)) {
      await virsh(ctx, ['start', name], signal);
      return;
    }
    ctx.log.info({ instance: instance.uuid }, 'soft reboot timed out; rebooting hard');
  }
  await virsh(ctx, ['destroy', name], signal, true);
  if (state === PowerState.SUSPENDED) await virsh(ctx, ['managedsave-remove', name], signal);
  await virsh(ctx, ['start', name], signal);
}

/** Managed save: memory to disk, QEMU stopped; resume restores it. */
export async function suspend(ctx: LibvirtContext, instance: InstanceRef, signal: AbortSignal): Promise<void> {
  const state = await existingState(ctx, instance, signal);
  if (state === PowerState.SUSPENDED) return;
  if (state !== PowerState.RUNNING && state !== PowerState.PAUSED) {
    throw new DriverError('invalid_state', `instance ${instance.uuid} is not running; only a running or paused instance can be suspended`);
  }
  await virsh(ctx, ['managedsave', domainName(instance.uuid)], signal);
}

export async function resume(ctx: LibvirtContext, instance: InstanceRef, signal: AbortSignal): Promise<void> {
  const state = await existingState(ctx, instance, signal);
  if (state === PowerState.RUNNING) return;
  if (state !== PowerState.SUSPENDED) throw new DriverError('invalid_state', `instance ${instance.uuid} is not suspended`);
  await virsh(ctx, ['start', domainName(instance.uuid)], signal);
}

/** Pause keeps QEMU and the guest's memory, stopping its vCPUs (`virsh suspend`). */
export async function pause(ctx: LibvirtContext, instance: InstanceRef, signal: AbortSignal): Promise<void> {
  const state = await existingState(ctx, instance, signal);
  if (state === PowerState.PAUSED) return;
  if (state !== PowerState.RUNNING) throw new DriverError('invalid_state', `instance ${instance.uuid} is not running; only a running instance can be paused`);
  await virsh(ctx, ['suspend', domainName(instance.uuid)], signal);
}

export async function unpause(ctx: LibvirtContext, instance: InstanceRef, signal: AbortSignal): Promise<void> {
  const state = await existingState(ctx, instance, signal);
  if (state === PowerState.RUNNING) return;
  if (state !== PowerState.PAUSED) throw new DriverError('invalid_state', `instance ${instance.uuid} is not paused`);
  await virsh(ctx, ['resume', domainName(instance.uuid)], signal);
}
