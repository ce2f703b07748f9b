import type { PolyvisorProcess } from '../support/polyvisor-process.js';
import type { TestVcsim } from '../vsphere/vcsim-harness.js';

/** The seeds' [DEFAULT]/[vmware] block with its values filled in for a vcsim's clusters (default DC0_C0 and DC0_C1). */
export function vmwareConf(sim: TestVcsim, extra = '', defaults = '', clusters: readonly string[] = ['DC0_C0', 'DC0_C1']): string {
  const url = new URL(sim.url);
  return `
[DEFAULT]
compute_driver = vmwareapi.VMwareVCDriver
reserved_host_memory_mb = 0
flat_network_bridge = VM Network
${defaults}

[vmware]
host_ip = ${url.hostname}
host_port = ${url.port}
host_username = ${sim.username}
host_password = ${sim.password}
${sim.caFile === undefined ? 'insecure = True' : `ca_file = ${sim.caFile}`}
${clusters.map((c) => `cluster_name = ${c}`).join('\n')}
wsdl_location = https://${url.hostname}/sdk/vimService.wsdl

[quota]
instances = -1
cores = -1
ram = -1
${extra}`;
}

interface SpawnLog {
  msg: string;
  instance?: string;
  datastore?: string;
  transferred?: boolean;
}

/** The driver's "spawned" log lines (one per boot, saying whether image bytes moved). */
export function spawnLogs(pv: PolyvisorProcess): SpawnLog[] {
  return pv
    .logs()
    .split('\n')
    .filter((l) => l.includes('"spawned"'))
    .map((l) => JSON.parse(l) as SpawnLog);
}

