import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { configFromText } from '../../../../src/config/load.js';
import { DriverError } from '../../../../src/compute/drivers/driver.js';
import { VmwareDriver, vmwareOptionsFromConfig } from '../../../../src/compute/drivers/vmware/index.js';
import { parseVlanNetworks } from '../../../../src/compute/drivers/vmware/vlan-port-groups.js';
import { startTestVcsim, type TestVcsim } from '../../../vsphere/vcsim-harness.js';
import { pyvmomiView } from './pyvmomi.js';
import { instanceSpec, simOptions, testImage } from './support.js';

const DISK = Buffer.alloc(1024 * 1024, 3);

type PortGroups = Record<string, { name: string; vlanId: number; vswitchName: string }[]>;

/** Every host's port groups as pyVmomi sees them (not through our client). */
async function hostPortGroups(sim: TestVcsim): Promise<PortGroups> {
  const url = new URL(sim.url);
  const script = join(dirname(fileURLToPath(import.meta.url)), 'pyvmomi-portgroups.py');
  const { stdout } = await promisify(execFile)('/usr/bin/python3', [script, url.hostname, url.port, sim.username], { env: { ...process.env, VC_PASSWORD: sim.password } });
  return JSON.parse(stdout) as PortGroups;
}

describe('VMware driver: VLAN port groups from [DEFAULT] vlan_interface', () => {
  let sim: TestVcsim;
  let driver: VmwareDriver;
  let node: string;
  before(async () => {
    sim = await startTestVcsim({ clusters: 2, hostsPerCluster: 2 });
    driver = new VmwareDriver(simOptions(sim, { vlanInterface: 'vmnic0', vlanNetworks: parseVlanNetworks(['net-blue:101', 'net-red:102:red-pg', 'net-bad:103:VM Network']) }));
    await driver.init(AbortSignal.timeout(30_000));
    node = (await driver.listNodes(AbortSignal.timeout(10_000)))[0]?.nodename ?? '';
  });
  after(async () => {
    await driver.close();
    await sim.stop();
  });

  it('creates the port group with the VLAN id on the vlan_interface vSwitch of every host of the cluster, once, and puts the NIC on it', async () => {
    const image = testImage(DISK);
    const specs = Array.from({ length: 4 }, (_, i) => instanceSpec(node, { name: `blue-${i}`, networks: [{ uuid: 'net-blue' }] }));
    await Promise.all(specs.map((s) => driver.spawn(s, image, AbortSignal.timeout(30_000))));
    const groups = await hostPortGroups(sim);
    const clusterHosts = Object.keys(groups).filter((h) => h.startsWith('DC0_C0_'));
    assert.equal(clusterHosts.length, 2);
    // vcsim keeps one Network entity per name in the datacenter, so AddPortGroup on the second
    // host answers DuplicateName (a real vCenter adds it there too); each host that has the
    // group has it once, with the VLAN, on the vlan_interface vSwitch.
    const withGroup = clusterHosts.filter((h) => (groups[h] ?? []).some((g) => g.name === 'br101'));
    assert.ok(withGroup.length >= 1, JSON.stringify(groups));
    for (const h of withGroup) {
      const br = (groups[h] ?? []).filter((g) => g.name === 'br101');
      assert.deepEqual(br, [{ name: 'br101', vlanId: 101, vswitchName: 'vSwitch0' }], `host ${h}: ${JSON.stringify(groups[h])}`);
    }
    // The other cluster was not touched.
    for (const h of Object.keys(groups).filter((x) => x.startsWith('DC0_C1_'))) assert.ok(!(groups[h] ?? []).some((g) => g.name === 'br101'));
    const view = await pyvmomiView(sim);
    for (const s of specs) {
      const vm = view.vms.find((v) => v.name === s.uuid);
      assert.deepEqual(vm?.nics.map((n) => n.network), ['br101']);
      assert.equal(vm?.powerState, 'poweredOn');
    }
  });

  it('names the port group as configured', async () => {
    const spec = instanceSpec(node, { networks: [{ uuid: 'net-red' }] });
    await driver.spawn(spec, testImage(DISK), AbortSignal.timeout(30_000));
    const groups = await hostPortGroups(sim);
    const red = Object.values(groups).flat().filter((g) => g.name === 'red-pg');
    assert.ok(red.length >= 1);
    for (const g of red) assert.deepEqual(g, { name: 'red-pg', vlanId: 102, vswitchName: 'vSwitch0' });
    const vm = (await pyvmomiView(sim)).vms.find((v) => v.name === spec.uuid);
    assert.deepEqual(vm?.nics.map((n) => n.network), ['red-pg']);
  });

  it('refuses an existing port group with another VLAN, an unknown network and several networks, leaving no VM', async () => {
    const cases: [Parameters<typeof instanceSpec>[1], RegExp][] = [
      [{ networks: [{ uuid: 'net-bad' }] }, /port group VM Network on host DC0_C0_H\d carries VLAN 0, not VLAN 103 of network net-bad/],
      [{ networks: [{ uuid: 'net-green' }] }, /network net-green is not a network of this cloud \(known: net-blue \(VLAN 101\), net-red \(VLAN 102\), net-bad \(VLAN 103\)\)/],
      [{ networks: [{ uuid: 'net-blue' }, { uuid: 'net-red' }] }, /one network per server/],
    ];
    for (const [extra, message] of cases) {
      const spec = instanceSpec(node, extra);
      await assert.rejects(driver.spawn(spec, testImage(DISK), AbortSignal.timeout(30_000)), (err: unknown) => err instanceof DriverError && message.test(err.message));
      assert.ok(!(await pyvmomiView(sim)).vms.some((v) => v.name === spec.uuid));
    }
  });

  it('says which option is missing or wrong', async () => {
    const noIface = new VmwareDriver(simOptions(sim, { vlanNetworks: parseVlanNetworks(['net-blue:101']) }));
    await noIface.init(AbortSignal.timeout(30_000));
    try {
      await assert.rejects(noIface.spawn(instanceSpec(node, { networks: [{ uuid: 'net-blue' }] }), testImage(DISK), AbortSignal.timeout(30_000)), /\[DEFAULT\] vlan_interface is not set/);
    } finally {
      await noIface.close();
    }
    const wrongIface = new VmwareDriver(simOptions(sim, { vlanInterface: 'vmnic7', vlanNetworks: parseVlanNetworks(['net-blue:101']) }));
    await wrongIface.init(AbortSignal.timeout(30_000));
    try {
      await assert.rejects(wrongIface.spawn(instanceSpec(node, { networks: [{ uuid: 'net-blue' }] }), testImage(DISK), AbortSignal.timeout(30_000)), /vlan_interface = vmnic7 is not the uplink of any vSwitch on host DC0_C0_H\d \(its physical NICs: vmnic0/);
    } finally {
      await wrongIface.close();
    }
    assert.throws(() => parseVlanNetworks(['net-x:5000']), /\[vmware\] vlan_network = net-x:5000: expected <network id>:<vlan id 1-4094>/);
    assert.throws(() => parseVlanNetworks(['a:1', 'a:2']), /network id a is given twice/);
    const { config } = configFromText(`[DEFAULT]\nvlan_interface = vmnic0\n[vmware]\nhost_ip = vc\nhost_username = u\nhost_password = p\nvlan_network = net-blue:101\nvlan_network = net-red:102:red-pg\n`);
    assert.deepEqual(vmwareOptionsFromConfig(config).vlanNetworks, [
      { id: 'net-blue', vlanId: 101, portGroup: 'br101' },
      { id: 'net-red', vlanId: 102, portGroup: 'red-pg' },
    ]);
  });
});
