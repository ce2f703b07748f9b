import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Vcsim } from '../../../vsphere/vcsim-harness.js';

/** One VM as pyVmomi sees it: where it is (cluster of its pool and of its host) and what it is. */
export interface PyVmPlacement {
  pool: string | null;
  host: string | null;
  hostCluster: string | null;
  powerState: string;
  numCPU: number;
  memoryMB: number;
  disks: { capacityKB: number; parent: string | null }[];
  extraConfig: Record<string, string>;
  datastores: string[];
}

/** The VM with this instance uuid, through Debian's pyVmomi (never our own client); null when vcsim has none. */
export async function pyvmomiVm(sim: Vcsim, uuid: string): Promise<PyVmPlacement | null> {
  const url = new URL(sim.url);
  const script = join(dirname(fileURLToPath(import.meta.url)), 'pyvmomi-vm.py');
  const { stdout } = await promisify(execFile)('/usr/bin/python3', [script, url.hostname, url.port, sim.username, uuid], { env: { ...process.env, VC_PASSWORD: sim.password } });
  return JSON.parse(stdout) as PyVmPlacement | null;
}

/** Root disk capacity (a linked clone's delta: the disk with a parent) and the other disks' capacities, ascending (vSphere lists an edited disk last). */
export function diskSizes(vm: Pick<PyVmPlacement, 'disks'> | null | undefined): { root: number | undefined; others: number[] } {
  const disks = vm?.disks ?? [];
  return { root: disks.find((d) => d.parent !== null)?.capacityKB, others: disks.filter((d) => d.parent === null).map((d) => d.capacityKB).sort((a, b) => a - b) };
}
