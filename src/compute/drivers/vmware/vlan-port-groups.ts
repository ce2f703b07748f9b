import { isFault, isMoref, type Client } from '../../../vsphere/index.js';
import { DriverError, type InstanceSpec } from '../driver.js';
import type { ComputeTarget, HostFacts } from './topology.js';

/** A VLAN network servers may ask for by id ([vmware] vlan_network = <id>:<vlan id>[:<port group>]). */
export interface VlanNetwork {
  readonly id: string;
  readonly vlanId: number;
  readonly portGroup: string;
}

/** Parses the [vmware] vlan_network entries; a malformed one is a config error naming it. */
export function parseVlanNetworks(entries: readonly string[]): VlanNetwork[] {
  const seen = new Set<string>();
  return entries.map((entry) => {
    const m = /^([^:\s]+):(\d{1,4})(?::(.+))?$/.exec(entry.trim());
    const vlanId = Number(m?.[2]);
    if (m?.[1] === undefined || !(vlanId >= 1 && vlanId <= 4094)) {
      throw new DriverError('invalid_config', `[vmware] vlan_network = ${entry}: expected <network id>:<vlan id 1-4094>[:<port group name>]`);
    }
    if (seen.has(m[1])) throw new DriverError('invalid_config', `[vmware] vlan_network: network id ${m[1]} is given twice`);
    seen.add(m[1]);
    return { id: m[1], vlanId, portGroup: m[3]?.trim() ?? `br${vlanId}` };
  });
}

/**
 * The VLAN network a server asked for, if any. Without a networking service a VLAN network
 * is named by its id, as a Nova user names a network: `networks: [{"uuid": "<id>"}]`
 * (`--nic net-id=<id>`). 'auto' and 'none' keep the configured port group or no NIC; an
 * id that is not a configured VLAN network is refused, never silently replaced.
 */
export function requestedVlanNetwork(instance: InstanceSpec, networks: readonly VlanNetwork[]): VlanNetwork | undefined {
  if (typeof instance.networks === 'string') return undefined;
  const ids = instance.networks.map((n) => n.uuid).filter((u): u is string => u !== undefined);
  if (ids.length === 0) return undefined;
  if (new Set(ids).size > 1) throw new DriverError('invalid_network', `the VMware driver attaches one network per server; asked for ${ids.join(', ')}`);
  const net = networks.find((n) => n.id === ids[0]);
  if (net === undefined) {
    const known = networks.map((n) => `${n.id} (VLAN ${n.vlanId})`).join(', ');
    throw new DriverError('network_not_found', `network ${ids[0]} is not a network of this cloud (${known === '' ? 'no [vmware] vlan_network is configured' : `known: ${known}`})`);
  }
  return net;
}

interface HostNetworkFacts {
  vswitchFor(pnicDevice: string): string | undefined;
  readonly pnics: readonly string[];
  portGroup(name: string): { vlanId: number; vswitchName: string } | undefined;
}

const rec = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const text = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');

/**
 * A host's vSwitches and physical NICs (its config) and its port groups as its network
 * system reports them now (the config may lag behind an AddPortGroup): two round trips.
 */
async function hostNetwork(client: Client, host: HostFacts, signal: AbortSignal): Promise<HostNetworkFacts> {
  const p = await client.host(host.ref).properties(['config.network.vswitch', 'config.network.pnic', 'configManager.networkSystem'], { signal });
  const ns = p['configManager.networkSystem'];
  const info = isMoref(ns) ? await client.pc.retrieveOne(ns, ['networkInfo.portgroup'], { signal }) : {};
  const pnics = arr(p['config.network.pnic']).map((x) => ({ key: text(rec(x)['key']), device: text(rec(x)['device']) }));
  const vswitches = arr(p['config.network.vswitch']).map((x) => ({ name: text(rec(x)['name']), pnic: arr(rec(x)['pnic']).map(text) }));
  const groups = arr(info['networkInfo.portgroup']).map((x) => rec(rec(x)['spec']));
  return {
    pnics: pnics.map((x) => x.device),
    vswitchFor(device) {
      const key = pnics.find((x) => x.device === device)?.key;
      return vswitches.find((v) => v.pnic.some((k) => k === key || k.split('-').pop() === device))?.name;
    },
    portGroup(name) {
      const g = groups.find((x) => x['name'] === name);
      return g === undefined ? undefined : { vlanId: Number(g['vlanId'] ?? 0), vswitchName: text(g['vswitchName']) };
    },
  };
}

/**
 * Creates VLAN port groups as Nova's VMware driver did for nova-network's VLAN manager
 * (ensure_vlan_bridge), on every usable host of the cluster rather than only the first, so
 * DRS may place the VM on any of them: the port group goes on the vSwitch whose uplink is
 * [DEFAULT] vlan_interface, with the network's VLAN id. An existing port group of that name
 * must carry the same VLAN on the same vSwitch, else the spawn fails saying so. Done once
 * per cluster and port group per process; concurrent boots share the one creation.
 */
export class VlanPortGroups {
  readonly #client: Client;
  readonly #vlanInterface: string | null;
  readonly #done = new Map<string, Promise<void>>();

  constructor(client: Client, vlanInterface: string | null) {
    this.#client = client;
    this.#vlanInterface = vlanInterface;
  }

  ensure(target: ComputeTarget, net: VlanNetwork, signal: AbortSignal): Promise<void> {
    const key = `${target.nodename}|${net.portGroup}`;
    let p = this.#done.get(key);
    if (p === undefined) {
      p = this.#create(target, net, signal);
      this.#done.set(key, p);
      // A failure is not remembered: the next boot tries again (the operator may have fixed the host).
      p.catch(() => this.#done.delete(key));
    }
    return p;
  }

  async #create(target: ComputeTarget, net: VlanNetwork, signal: AbortSignal): Promise<void> {
    const iface = this.#vlanInterface;
    if (iface === null || iface === '') {
      throw new DriverError('invalid_config', `network ${net.id} is a VLAN network but [DEFAULT] vlan_interface is not set: the driver does not know which vSwitch carries VLAN ${net.vlanId}`);
    }
    const hosts = target.hosts.filter((h) => h.usable);
    await Promise.all(hosts.map(async (host) => {
      const facts = await hostNetwork(this.#client, host, signal);
      const vswitch = facts.vswitchFor(iface);
      if (vswitch === undefined) {
        throw new DriverError('vlan_interface_not_found', `[DEFAULT] vlan_interface = ${iface} is not the uplink of any vSwitch on host ${host.name} (its physical NICs: ${facts.pnics.join(', ') || 'none'})`);
      }
      const existing = facts.portGroup(net.portGroup);
      if (existing === undefined) {
        try {
          await this.#client.host(host.ref).addPortGroup({ name: net.portGroup, vswitchName: vswitch, vlanId: net.vlanId }, { signal });
          return;
        } catch (err) {
          // Another agent (or vCenter's shared network entity) got there first: check what exists.
          if (!isFault(err, 'AlreadyExists') && !isFault(err, 'DuplicateName')) throw err;
          const again = (await hostNetwork(this.#client, host, signal)).portGroup(net.portGroup);
          if (again === undefined) return; // vcsim names networks per datacenter: the group exists there
          return check(again, host, vswitch, net);
        }
      }
      check(existing, host, vswitch, net);
    }));
  }
}

function check(existing: { vlanId: number; vswitchName: string }, host: HostFacts, vswitch: string, net: VlanNetwork): void {
  if (existing.vswitchName !== vswitch) {
    throw new DriverError('invalid_vlan_port_group', `port group ${net.portGroup} on host ${host.name} is on vSwitch ${existing.vswitchName}, not on ${vswitch} (the vSwitch of vlan_interface)`);
  }
  if (existing.vlanId !== net.vlanId) {
    throw new DriverError('invalid_vlan_tag', `port group ${net.portGroup} on host ${host.name} carries VLAN ${existing.vlanId}, not VLAN ${net.vlanId} of network ${net.id}`);
  }
}
