import { zoneOfHost } from '../../db/repos/aggregates.js';
import { countInstancesByNode, deleteOrphanNodes, upsertComputeNode } from '../../db/repos/compute-nodes.js';
import type { AgentContext } from './context.js';

/**
 * Reports the driver's nodes as compute_nodes rows: capacity and facts from the driver,
 * allocation ratios and reserved amounts from the configuration, the zone from the host's
 * aggregates (zoneOfHost, the same function the aggregates API uses; an aggregate change
 * rewrites the zone itself, and this report re-reads it each period). Never writes the
 * *_used counters (claims own them). Nodes the driver stopped reporting are deleted.
 * Notifies 'nodes' for every node whose facts changed so schedulers refresh it.
 */
export async function reportResources(ctx: AgentContext, serviceId: number): Promise<string[]> {
  const { db, config } = ctx;
  const nodes = await ctx.driver.listNodes(ctx.signal);
  const names = nodes.map((n) => n.nodename);
  const running = await countInstancesByNode(db, names);
  const zone = await zoneOfHost(db, ctx.host, config.DEFAULT.default_availability_zone);
  const changedNames: string[] = [];
  for (const n of nodes) {
    const { changed } = await upsertComputeNode(db, serviceId, {
      nodename: n.nodename,
      hypervisorType: n.hypervisorType,
      hypervisorVersion: n.hypervisorVersion,
      hostIp: n.hostIp,
      cpuInfo: JSON.stringify(n.cpuInfo),
      // supports_* let the API refuse pause on hypervisors without it (vSphere), and moves a
      // driver does not offer, without knowing drivers.
      capabilities: JSON.stringify({ ...n.capabilities, supports_pause: ctx.driver.capabilities.supportsPause ? 'True' : 'False', ...moveCapabilities(ctx.driver) }),
      availabilityZone: zone,
      vcpus: n.vcpus,
      memoryMb: n.memoryMb,
      localGb: n.localGb,
      runningVms: running.get(n.nodename) ?? 0,
      cpuAllocationRatio: config.DEFAULT.cpu_allocation_ratio,
      ramAllocationRatio: config.DEFAULT.ram_allocation_ratio,
      diskAllocationRatio: config.DEFAULT.disk_allocation_ratio,
      reservedHostMemoryMb: config.DEFAULT.reserved_host_memory_mb,
      reservedHostDiskMb: config.DEFAULT.reserved_host_disk_mb,
      reservedHostCpus: config.DEFAULT.reserved_host_cpus,
      bootTime: n.bootTime ?? null,
    });
    if (changed) changedNames.push(n.nodename);
  }
  changedNames.push(...(await deleteOrphanNodes(db, serviceId, names)));
  for (const name of changedNames) await ctx.bus.notify('nodes', name);
  return names;
}

/** Which moves the driver offers, as node capabilities (resize and cold migration need both sides' steps). */
function moveCapabilities(d: AgentContext['driver']): Record<string, string> {
  const flag = (b: boolean) => (b ? 'True' : 'False');
  return {
    supports_migrate: flag(d.migrateDiskAndPowerOff !== undefined && d.finishMigration !== undefined && d.confirmMigration !== undefined && d.finishRevertMigration !== undefined),
    supports_live_migration: flag(d.liveMigrate !== undefined && d.postLiveMigrationAtDestination !== undefined),
  };
}
