import type { NodeResources } from '../driver.js';
import type { ComputeTarget, DatastoreFacts } from './topology.js';

export const HYPERVISOR_TYPE = 'VMware vCenter Server';

/** Nova's integer version: 6.5.0 → 6005000, 7.0.3 → 7000003. */
export function encodeVersion(version: string): number {
  const [major = 0, minor = 0, patch = 0] = version.split('.').map((p) => Number.parseInt(p, 10) || 0);
  return major * 1_000_000 + minor * 1_000 + patch;
}

/** The datastores of a target that instances may use: accessible and matching datastore_regex. */
export function usableDatastores(target: ComputeTarget, regex: RegExp | null): DatastoreFacts[] {
  return target.datastores.filter((d) => d.accessible && (regex === null || regex.test(d.name)));
}

/**
 * A cluster as one compute node: vCPUs and memory summed over its hosts that are
 * connected and not in maintenance mode, disk over the datastores instances may use.
 * The scheduler never sees the hosts; DRS places a VM inside the cluster.
 */
export function nodeResources(target: ComputeTarget, options: { version: string; hostIp: string; regex: RegExp | null }): NodeResources {
  const hosts = target.hosts.filter((h) => h.usable);
  const datastores = usableDatastores(target, options.regex);
  const first = hosts[0];
  return {
    nodename: target.nodename,
    hypervisorType: HYPERVISOR_TYPE,
    hypervisorVersion: encodeVersion(options.version),
    hostIp: options.hostIp,
    vcpus: hosts.reduce((n, h) => n + h.cpuThreads, 0),
    memoryMb: Math.floor(hosts.reduce((n, h) => n + h.memoryBytes, 0) / (1024 * 1024)),
    localGb: Math.floor(datastores.reduce((n, d) => n + d.capacityBytes, 0) / 1024 ** 3),
    cpuInfo: {
      model: first?.cpuModel ?? '',
      vendor: first?.vendor ?? '',
      topology: { cores: hosts.reduce((n, h) => n + h.cpuCores, 0), threads: hosts.reduce((n, h) => n + h.cpuThreads, 0) },
      hosts: hosts.length,
    },
    capabilities: { hypervisor_type: 'vmware', architecture: 'x86_64', vm_mode: 'hvm', cluster: target.name },
    // A cluster is up since its longest-running usable host booted.
    ...earliestBoot(hosts.map((h) => h.bootTime)),
  };
}

function earliestBoot(times: readonly (string | undefined)[]): { bootTime?: string } {
  const known = times.filter((t): t is string => t !== undefined && !Number.isNaN(Date.parse(t))).sort((a, b) => Date.parse(a) - Date.parse(b));
  return known[0] === undefined ? {} : { bootTime: known[0] };
}
