import { rm } from 'node:fs/promises';
import type { InstanceRef } from '../driver.js';
import { instanceDir, type LibvirtContext } from './context.js';
import { domainName } from './domain-xml.js';
import { isNoDomain, isOperationInvalid } from './virsh.js';

/** Ignores "no such domain" and "not running": destroy succeeds when there is nothing left to do. */
async function tolerant(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!isNoDomain(err) && !isOperationInvalid(err)) throw err;
  }
}

/**
 * Stops the domain, undefines it with its managed-save image, and removes the instance's
 * folder (overlay disk, console log). Succeeds when the instance is already gone. A lost
 * libvirt connection throws (retryable): files are kept until the domain is surely gone.
 */
export async function destroy(ctx: LibvirtContext, instance: Pick<InstanceRef, 'uuid'>, signal: AbortSignal): Promise<void> {
  const name = domainName(instance.uuid);
  await tolerant(ctx.virsh.run(['destroy', name], signal));
  await tolerant(ctx.virsh.run(['undefine', '--managed-save', name], signal));
  await rm(instanceDir(ctx, instance.uuid), { recursive: true, force: true });
}
