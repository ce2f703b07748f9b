import { isMoref, morefKey } from '../../../vsphere/index.js';
import { DriverError, type InstanceRef, type VncConsole } from '../driver.js';
import type { VmwareContext } from './context.js';
import { withVm } from './vm-lookup.js';

/**
 * The VNC endpoint of an instance: the ESX host it runs on (its management name) and the
 * port spawn gave it, read from the VM in one round trip (the VM may have moved by vMotion).
 */
export function getVncConsole(ctx: VmwareContext, instance: InstanceRef, signal: AbortSignal): Promise<VncConsole> {
  return withVm(ctx, instance, signal, async (vm) => {
    const p = await vm.properties(['runtime.host', 'config.extraConfig'], { signal });
    const extra = Array.isArray(p['config.extraConfig']) ? (p['config.extraConfig'] as { key?: unknown; value?: unknown }[]) : [];
    const port = Number(extra.find((e) => e.key === 'RemoteDisplay.vnc.port')?.value);
    if (!Number.isInteger(port)) throw new DriverError('console_unavailable', `instance ${instance.uuid} has no VNC port`);
    const hostRef = p['runtime.host'];
    let host = ctx.options.hostIp;
    if (isMoref(hostRef)) {
      const target = ctx.target(instance.node);
      host = target.hosts.find((h) => morefKey(h.ref) === morefKey(hostRef))?.name ?? (await ctx.client.host(hostRef).name({ signal }));
    }
    return { host, port };
  });
}
