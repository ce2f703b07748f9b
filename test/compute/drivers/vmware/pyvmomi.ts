import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Vcsim } from '../../../vsphere/vcsim-harness.js';

export interface PyVm {
  name: string;
  folder: string;
  powerState: string;
  guestId: string | null;
  instanceUuid: string | null;
  annotation: string | null;
  extraConfig: Record<string, string>;
  numCPU: number;
  memoryMB: number;
  disks: { fileName: string; parent: string | null; capacityKB: number; controllerKey: number }[];
  nics: { type: string; portgroupKey?: string; network?: string }[];
  controllers: { type: string; key: number }[];
}

export interface PyView {
  vms: PyVm[];
  folders: { name: string; path: string }[];
  portgroups: Record<string, string>;
}

/** What vcsim shows to an independent client: Debian's pyVmomi (never our own code). */
export async function pyvmomiView(sim: Vcsim): Promise<PyView> {
  const url = new URL(sim.url);
  const script = join(dirname(fileURLToPath(import.meta.url)), 'pyvmomi-inspect.py');
  const { stdout } = await promisify(execFile)('/usr/bin/python3', [script, url.hostname, url.port, sim.username], {
    env: { ...process.env, VC_PASSWORD: sim.password },
    maxBuffer: 64 << 20,
  });
  return JSON.parse(stdout) as PyView;
}
