import { startVcsim, type Vcsim } from '../vsphere/sim/vcsim.js';

/** The simulated vCenter of `polyvisor demo`: govmomi's vcsim with two clusters. */
export interface SimulatedVcenter {
  readonly vcsim: Vcsim;
  /** nova.conf overrides that point the VMware driver at the simulator, as the seeds' block does. */
  readonly overrides: Record<string, Record<string, string>>;
}

export const DEMO_CLUSTERS = ['DC0_C0', 'DC0_C1'] as const;

export async function startSimulatedVcenter(): Promise<SimulatedVcenter> {
  const vcsim = await startVcsim({ tls: true, clusters: DEMO_CLUSTERS.length, hostsPerCluster: 2, datastores: 1, username: 'administrator@vsphere.local' });
  const url = new URL(vcsim.url);
  const vmware: Record<string, string> = {
    host_ip: url.hostname,
    host_port: url.port,
    host_username: vcsim.username,
    host_password: vcsim.password,
    // Repeated cluster_name: one compute node per cluster.
    cluster_name: DEMO_CLUSTERS.join('\n'),
    // The simulator's distributed port group stands in for the NSX/flat network.
    integration_bridge: 'DC0_DVPG0',
  };
  if (vcsim.caFile !== undefined) vmware['ca_file'] = vcsim.caFile;
  return {
    vcsim,
    overrides: {
      DEFAULT: { compute_driver: 'vmwareapi.VMwareVCDriver', reserved_host_memory_mb: '0' },
      vmware,
    },
  };
}
