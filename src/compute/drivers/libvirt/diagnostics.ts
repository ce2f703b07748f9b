import { PowerState } from '../../states.js';
import { InstanceNotFoundError, type InstanceDiagnostics, type InstanceRef } from '../driver.js';
import type { LibvirtContext } from './context.js';
import { domainName } from './domain-xml.js';
import { instanceState } from './lookup.js';

const STATE: Readonly<Record<number, InstanceDiagnostics['state']>> = {
  [PowerState.RUNNING]: 'running',
  [PowerState.PAUSED]: 'paused',
  [PowerState.SHUTDOWN]: 'shutdown',
  [PowerState.CRASHED]: 'crashed',
  [PowerState.SUSPENDED]: 'suspended',
};

/** Nova's standard diagnostics from one `virsh domstats` call (plus dominfo for the state). */
export async function getDiagnostics(ctx: LibvirtContext, instance: InstanceRef, signal: AbortSignal): Promise<InstanceDiagnostics> {
  const state = await instanceState(ctx, instance, signal);
  if (!state.exists) throw new InstanceNotFoundError(instance.uuid);
  const out = await ctx.virsh.run(['domstats', '--vcpu', '--balloon', '--interface', '--block', domainName(instance.uuid)], signal);
  return diagnosticsFromDomstats(out, STATE[state.powerState] ?? 'pending', ctx.options.virtType);
}

/**
 * Parses `virsh domstats` output (`key=value` lines): vcpu.N.time, balloon.maximum/current
 * (KiB), net.N.{rx,tx}.{bytes,pkts,errs,drop}, block.N.{rd,wr}.{bytes,reqs}, block.N.errors.
 * Figures libvirt does not give (uptime, utilisation, MAC addresses) are null.
 */
export function diagnosticsFromDomstats(text: string, state: InstanceDiagnostics['state'], virtType: string): InstanceDiagnostics {
  const v = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\s*([\w.]+)=(.*)$/.exec(line);
    if (m) v.set(m[1] as string, (m[2] as string).trim());
  }
  const num = (k: string): number | null => {
    const s = v.get(k);
    return s === undefined || !/^-?\d+$/.test(s) ? null : Number(s);
  };
  const count = (k: string) => num(`${k}.count`) ?? 0;
  const vcpus = num('vcpu.current') ?? num('vcpu.maximum') ?? 0;
  const maxKib = num('balloon.maximum');
  const curKib = num('balloon.current');
  const blocks = Array.from({ length: count('block') }, (_, i) => i).filter((i) => v.get(`block.${i}.name`) !== undefined);
  return {
    state,
    driver: 'libvirt',
    hypervisor: virtType,
    hypervisor_os: 'linux',
    uptime: null,
    num_cpus: vcpus,
    num_disks: blocks.length,
    num_nics: count('net'),
    memory_details: { maximum: maxKib === null ? null : Math.floor(maxKib / 1024), used: curKib === null ? null : Math.floor(curKib / 1024) },
    cpu_details: Array.from({ length: vcpus }, (_, i) => ({ id: i, time: num(`vcpu.${i}.time`), utilisation: null })),
    nic_details: Array.from({ length: count('net') }, (_, i) => ({
      mac_address: null,
      rx_octets: num(`net.${i}.rx.bytes`),
      rx_errors: num(`net.${i}.rx.errs`),
      rx_drop: num(`net.${i}.rx.drop`),
      rx_packets: num(`net.${i}.rx.pkts`),
      rx_rate: null,
      tx_octets: num(`net.${i}.tx.bytes`),
      tx_errors: num(`net.${i}.tx.errs`),
      tx_drop: num(`net.${i}.tx.drop`),
      tx_packets: num(`net.${i}.tx.pkts`),
      tx_rate: null,
    })),
    disk_details: blocks.map((i) => ({
      read_bytes: num(`block.${i}.rd.bytes`),
      read_requests: num(`block.${i}.rd.reqs`),
      write_bytes: num(`block.${i}.wr.bytes`),
      write_requests: num(`block.${i}.wr.reqs`),
      errors_count: num(`block.${i}.errors`),
    })),
    config_drive: false,
  };
}
