import { DriverError, InstanceNotFoundError, type InstanceRef, type VncConsole } from '../driver.js';
import type { LibvirtContext } from './context.js';
import { domainName, serialTcpOf, vncPortOf } from './domain-xml.js';
import { isNoDomain } from './virsh.js';

/** The domain's live XML (`virsh dumpxml`): what libvirt really gave it, right after a start, reboot or resume. */
async function liveXml(ctx: LibvirtContext, instance: InstanceRef, signal: AbortSignal): Promise<string> {
  try {
    return await ctx.virsh.run(['dumpxml', domainName(instance.uuid)], signal);
  } catch (err) {
    if (isNoDomain(err)) throw new InstanceNotFoundError(instance.uuid);
    throw err;
  }
}

/** The VNC endpoint of a running instance: the port libvirt picked (autoport), read from its live XML. */
export async function getVncConsole(ctx: LibvirtContext, instance: InstanceRef, signal: AbortSignal): Promise<VncConsole> {
  const port = vncPortOf(await liveXml(ctx, instance, signal));
  if (port === undefined) throw new DriverError('console_unavailable', `instance ${instance.uuid} has no VNC console (it is not running, or [vnc] enabled is false)`);
  return { host: ctx.options.vncProxyclientAddress, port };
}

/**
 * getSerialConsole: where serial port 0 listens, from the domain's live XML. An instance
 * without a TCP serial port ([serial_console] enabled false when it was spawned) has no
 * serial console.
 */
export async function getSerialConsole(ctx: LibvirtContext, instance: InstanceRef, signal: AbortSignal): Promise<{ host: string; port: number }> {
  const tcp = serialTcpOf(await liveXml(ctx, instance, signal));
  if (tcp === undefined) {
    throw new DriverError('console_unavailable', `instance ${instance.uuid} has no serial console: its serial port writes only to its console log (it was spawned with [serial_console] enabled = false)`);
  }
  return tcp;
}
