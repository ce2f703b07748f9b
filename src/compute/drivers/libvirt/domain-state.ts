import { PowerState } from '../../states.js';
import type { InstanceState } from '../driver.js';
import { uuidOfDomain } from './domain-xml.js';
import type { Virsh } from './virsh.js';

/**
 * Nova's libvirt power-state mapping, from virsh's state words. A shut-off domain with a
 * managed-save image (`virsh list --managed-save` says "saved") is a suspended instance.
 */
export function powerStateOfWord(word: string): PowerState {
  switch (word) {
    case 'running':
    case 'idle':
    case 'blocked':
    case 'in shutdown':
      return PowerState.RUNNING;
    case 'paused':
      return PowerState.PAUSED;
    case 'saved':
    case 'pmsuspended':
      return PowerState.SUSPENDED;
    case 'crashed':
      return PowerState.CRASHED;
    case 'shut off':
      return PowerState.SHUTDOWN;
    default:
      return PowerState.NOSTATE;
  }
}

export interface DomainListing {
  readonly name: string;
  readonly state: string;
}

/** Every domain with its state in one libvirt call (`virsh list --all --managed-save`). */
export async function listDomains(virsh: Virsh, signal: AbortSignal): Promise<DomainListing[]> {
  const out = await virsh.run(['list', '--all', '--managed-save'], signal);
  const domains: DomainListing[] = [];
  for (const line of out.split('\n')) {
    const m = /^\s*(\S+)\s+(\S+)\s+(.+?)\s*$/.exec(line);
    if (m === null || m[2] === undefined || m[3] === undefined) continue;
    domains.push({ name: m[2], state: m[3] });
  }
  return domains;
}

/** Power states of our domains (named instance-<uuid>), keyed by instance uuid; other domains are left alone. */
export async function listInstanceStates(virsh: Virsh, signal: AbortSignal): Promise<Map<string, InstanceState>> {
  const states = new Map<string, InstanceState>();
  for (const d of await listDomains(virsh, signal)) {
    const uuid = uuidOfDomain(d.name);
    if (uuid !== undefined) states.set(uuid, { exists: true, powerState: powerStateOfWord(d.state) });
  }
  return states;
}
