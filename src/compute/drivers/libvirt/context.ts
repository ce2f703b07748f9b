import { join } from 'node:path';
import type { Logger } from '../../../log.js';
import type { LibvirtDriverOptions } from './config.js';
import type { ImageCache } from './image-cache.js';
import type { SerialPortAllocator } from './serial-console.js';
import type { Virsh } from './virsh.js';

/** What the operation modules share: the libvirt connection, the options, the image cache. */
export interface LibvirtContext {
  readonly virsh: Virsh;
  readonly options: LibvirtDriverOptions;
  readonly cache: ImageCache;
  readonly log: Logger;
  /** The Linux bridge NICs join, or null for QEMU user networking (decided once at init). */
  readonly bridge: string | null;
  /** How long a soft reboot waits for the guest to shut down before it turns hard ([libvirt] wait_soft_reboot_seconds). */
  readonly waitSoftRebootSeconds: number;
  /** Hands out serial console TCP ports ([serial_console] enabled), or undefined: serial port 0 writes only to console.log. */
  readonly serialPorts?: SerialPortAllocator;
}

/** `<instances_path>/<uuid>`: the instance's overlay disk, console log and domain XML. */
export function instanceDir(ctx: LibvirtContext, uuid: string): string {
  return join(ctx.options.instancesPath, uuid);
}
