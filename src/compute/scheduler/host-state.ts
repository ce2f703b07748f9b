import type { SchedulerNodeRow } from '../../db/repos/compute-nodes.js';
import { isServiceUp } from '../service-status.js';

/** Liveness of a compute service, shared by all its nodes and refreshed every few seconds. */
export interface ServiceState {
  disabled: boolean;
  /** isServiceUp as of the last refresh (evaluated once per refresh, not per node and request). */
  up: boolean;
}

/**
 * What the scheduler knows about one compute node. Plain numeric fields so that a filter
 * pass over 10,000 of them stays in the tens of microseconds; the limits are precomputed
 * with the same rule as the claim's SQL ((capacity − reserved) × ratio, as Nova's placement).
 */
export class HostState {
  id = 0;
  nodename = '';
  host = '';
  availabilityZone: string | null = null;
  hypervisorType = '';
  hypervisorVersion = 0;
  /** Node facts matched by image properties and `capabilities:` extra specs. */
  capabilities: Readonly<Record<string, unknown>> = {};
  vcpus = 0;
  memoryMb = 0;
  localGb = 0;
  vcpusUsed = 0;
  memoryMbUsed = 0;
  localGbUsed = 0;
  cpuAllocationRatio = 1;
  reservedHostCpus = 0;
  reservedHostMemoryMb = 0;
  reservedDiskGb = 0;
  vcpuLimit = 0;
  ramLimit = 0;
  diskLimit = 0;
  runningVms = 0;
  service: ServiceState = { disabled: false, up: false };

  /** Nova's HostState.free_ram_mb: physical memory not reserved or used. */
  get freeRamMb(): number {
    return this.memoryMb - this.reservedHostMemoryMb - this.memoryMbUsed;
  }

  /** Nova's CPUWeigher: vcpus_total × cpu_allocation_ratio − vcpus_used. */
  get freeVcpus(): number {
    return this.vcpus * this.cpuAllocationRatio - this.vcpusUsed;
  }

  /** Nova's free_disk_mb, in GB here. */
  get freeDiskGb(): number {
    return this.localGb - this.reservedDiskGb - this.localGbUsed;
  }

  /** Copies a database row into this state (in place, so references held elsewhere stay valid). */
  update(row: SchedulerNodeRow, service: ServiceState): void {
    this.id = row.id;
    this.nodename = row.hypervisor_hostname;
    this.host = row.host;
    this.availabilityZone = row.availability_zone;
    this.hypervisorType = row.hypervisor_type;
    this.hypervisorVersion = row.hypervisor_version;
    this.capabilities = nodeCapabilities(row);
    this.vcpus = row.vcpus;
    this.memoryMb = row.memory_mb;
    this.localGb = row.local_gb;
    this.vcpusUsed = row.vcpus_used;
    this.memoryMbUsed = row.memory_mb_used;
    this.localGbUsed = row.local_gb_used;
    this.cpuAllocationRatio = row.cpu_allocation_ratio;
    this.reservedHostCpus = row.reserved_host_cpus;
    this.reservedHostMemoryMb = row.reserved_host_memory_mb;
    this.reservedDiskGb = Math.ceil(row.reserved_host_disk_mb / 1024);
    // Same arithmetic as claimOnNode's SQL, so the filter and the claim never disagree.
    this.vcpuLimit = (row.vcpus - row.reserved_host_cpus) * row.cpu_allocation_ratio;
    this.ramLimit = (row.memory_mb - row.reserved_host_memory_mb) * row.ram_allocation_ratio;
    this.diskLimit = (row.local_gb - this.reservedDiskGb) * row.disk_allocation_ratio;
    this.runningVms = row.running_vms;
    this.service = service;
  }
}

export function serviceStateOf(
  row: { disabled: 0 | 1; forced_down: 0 | 1; last_seen_at: string | null },
  serviceDownTimeSeconds: number,
  nowMs: number,
): ServiceState {
  return { disabled: row.disabled === 1, up: isServiceUp(row, serviceDownTimeSeconds, nowMs) };
}

/**
 * The attributes ComputeCapabilitiesFilter can match (Nova matches HostState attributes):
 * the node's reported capabilities, its cpu_info (nested, `capabilities:cpu_info:arch`) and
 * the usual HostState fields.
 */
function nodeCapabilities(row: SchedulerNodeRow): Record<string, unknown> {
  const caps: Record<string, unknown> = {
    hypervisor_type: row.hypervisor_type,
    hypervisor_version: row.hypervisor_version,
    hypervisor_hostname: row.hypervisor_hostname,
    host: row.host,
    host_ip: row.host_ip,
    vcpus_total: row.vcpus,
    total_usable_ram_mb: row.memory_mb,
    total_usable_disk_gb: row.local_gb,
    cpu_info: parseObject(row.cpu_info),
  };
  for (const [k, v] of Object.entries(parseObject(row.capabilities))) caps[k] = v;
  return caps;
}

function parseObject(text: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
