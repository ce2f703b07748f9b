import { statfs } from 'node:fs/promises';
import { uptime } from 'node:os';
import type { NodeResources } from '../driver.js';
import type { LibvirtContext } from './context.js';
import { DriverError } from '../driver.js';
import type { Virsh } from './virsh.js';

/** What `hypervisor_type` libvirt nodes report, as Nova's libvirt driver does for both kvm and qemu. */
export const HYPERVISOR_TYPE = 'QEMU';

/** Nova's integer version: 7.2.22 → 7002022. */
export function encodeVersion(version: string): number {
  const [major = 0, minor = 0, patch = 0] = version.split('.').map((p) => Number.parseInt(p, 10) || 0);
  return major * 1_000_000 + minor * 1_000 + patch;
}

/** The hypervisor's version from `virsh version` ("Running hypervisor: QEMU 7.2.22"). */
export async function hypervisorVersion(virsh: Virsh, signal: AbortSignal): Promise<string> {
  const out = await virsh.run(['version'], signal);
  const m = /Running hypervisor:\s*QEMU\s+(\d+(?:\.\d+)*)/i.exec(out);
  if (m?.[1] === undefined) throw new DriverError('libvirt_error', `libvirt at ${virsh.uri} runs no QEMU hypervisor: ${out.trim()}`);
  return m[1];
}

/**
 * This host as one compute node: vCPUs and memory from `virsh nodeinfo`, disk from the
 * file system holding instances_path (where overlays and the image cache live).
 */
export async function nodeResources(ctx: LibvirtContext, version: string, signal: AbortSignal): Promise<NodeResources> {
  const info = await ctx.virsh.run(['nodeinfo'], signal);
  const field = (name: string): string => new RegExp(`^${name}:\\s*(.*?)\\s*$`, 'm').exec(info)?.[1] ?? '';
  const fs = await statfs(ctx.options.instancesPath);
  const arch = field('CPU model') || 'x86_64';
  return {
    nodename: ctx.options.host,
    hypervisorType: HYPERVISOR_TYPE,
    hypervisorVersion: encodeVersion(version),
    hostIp: ctx.options.myIp,
    vcpus: Number.parseInt(field('CPU\\(s\\)'), 10) || 0,
    memoryMb: Math.floor((Number.parseInt(field('Memory size'), 10) || 0) / 1024),
    localGb: Math.floor((fs.blocks * fs.bsize) / 1024 ** 3),
    cpuInfo: {
      arch,
      topology: {
        sockets: Number.parseInt(field('CPU socket\\(s\\)'), 10) || 0,
        cores: Number.parseInt(field('Core\\(s\\) per socket'), 10) || 0,
        threads: Number.parseInt(field('Thread\\(s\\) per core'), 10) || 0,
      },
      mhz: Number.parseInt(field('CPU frequency'), 10) || 0,
      virt_type: ctx.options.virtType,
    },
    capabilities: { hypervisor_type: ctx.options.virtType, architecture: arch, vm_mode: 'hvm' },
    ...localBootTime(ctx.options.connectionUri),
  };
}

/**
 * The host's boot time when libvirtd runs on this machine (a local qemu:/// URI): the agent
 * then shares the host's clock and uptime. A remote URI (qemu+ssh://...) gives none.
 */
export function localBootTime(connectionUri: string): { bootTime?: string } {
  if (!/^qemu:\/\/\//.test(connectionUri)) return {};
  return { bootTime: new Date(Date.now() - uptime() * 1000).toISOString() };
}
