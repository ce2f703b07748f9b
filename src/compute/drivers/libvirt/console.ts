import { DriverError, type InstanceRef, type VncConsole } from '../driver.js';
import type { LibvirtContext } from './context.js';
import { domainName, vncPortOf } from './domain-xml.js';
import { isNoDomain } from './virsh.js';
import { InstanceNotFoundError } from '../driver.js';

/** The VNC endpoint of a running instance: the port libvirt picked (autoport), read from its live XML. */
export async function getVncConsole(ctx: LibvirtContext, instance: InstanceRef, signal: AbortSignal): Promise<VncConsole> {
  let xml: string;
  try {
    xml = await ctx.virsh.run(['dumpxml', domainName(instance.uuid)], signal);
  } catch (err) {
    if (isNoDomain(err)) throw new InstanceNotFoundError(instance.uuid);
    throw err;
  }
  const port = vncPortOf(xml);
  if (port === undefined) throw new DriverError('console_unavailable', `instance ${instance.uuid} has no VNC console (it is not running, or [vnc] enabled is false)`);
  return { host: ctx.options.vncProxyclientAddress, port };
}
