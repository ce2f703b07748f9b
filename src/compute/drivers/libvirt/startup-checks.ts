import { existsSync } from 'node:fs';
import { access, constants, mkdir } from 'node:fs/promises';
import { DriverError } from '../driver.js';
import type { LibvirtDriverOptions } from './config.js';
import { LibvirtError, type Virsh } from './virsh.js';

/** A start-up check failed: the message names the option or the host fact that is wrong. */
export class LibvirtStartupError extends DriverError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('libvirt_startup', message, options);
  }
}

/** instances_path exists (created when missing) and is writable: overlays and the image cache go there. */
export async function checkInstancesPath(options: LibvirtDriverOptions): Promise<void> {
  try {
    await mkdir(options.instancesPath, { recursive: true });
    await access(options.instancesPath, constants.W_OK);
  } catch (err) {
    throw new LibvirtStartupError(`[DEFAULT] instances_path = ${options.instancesPath} is not a writable directory: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/** A clear message for an unreachable libvirtd, naming [libvirt] connection_uri. */
export function connectError(err: unknown, uri: string): DriverError {
  const why = err instanceof Error ? err.message : String(err);
  return new LibvirtStartupError(`cannot reach libvirt at [libvirt] connection_uri = ${uri}: ${why} (is libvirtd running?)`, { cause: err });
}

/**
 * virt_type = kvm needs /dev/kvm and a libvirt that can use it; otherwise the operator is
 * told to set virt_type = qemu (TCG) rather than seeing every spawn fail.
 */
export async function checkVirtType(virsh: Virsh, options: LibvirtDriverOptions, signal: AbortSignal): Promise<void> {
  if (options.virtType !== 'kvm') return;
  if (!existsSync('/dev/kvm')) throw new LibvirtStartupError('[libvirt] virt_type = kvm but this host has no /dev/kvm; set virt_type = qemu');
  try {
    await virsh.run(['domcapabilities', '--virttype', 'kvm'], signal);
  } catch (err) {
    if (err instanceof LibvirtError && err.failure === 'connection') throw err;
    throw new LibvirtStartupError(`[libvirt] virt_type = kvm but libvirt cannot run KVM guests here (${err instanceof Error ? err.message : String(err)}); set virt_type = qemu`, { cause: err });
  }
}
