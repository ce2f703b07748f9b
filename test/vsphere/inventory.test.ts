import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, type UpdateSet } from '../../src/vsphere/index.js';
import { smallVmSpec } from './vm-spec.js';
import { startTestVcsim, type TestVcsim } from './vcsim-harness.js';

describe('PropertyCollector against a 4-cluster × 8-host × 6-datastore vcsim', () => {
  let sim: TestVcsim;
  let client: Client;
  before(async () => {
    sim = await startTestVcsim({ clusters: 4, hostsPerCluster: 8, datastores: 6, standaloneHosts: 0, vms: 0, distributedPortGroups: 2, standardPortGroups: 2 });
    client = await Client.connect({ url: sim.url, username: sim.username, password: sim.password, caFile: sim.caFile ?? '' });
  });
  after(async () => {
    await client.close();
    await sim.stop();
  });

  it('returns the whole inventory with the properties we need in one round trip', async () => {
    client.counter.reset();
    const inv = await client.inventory();
    assert.equal(client.counter.total, 1, 'one RetrievePropertiesEx');
    const clusters = inv.byType('ClusterComputeResource');
    const hosts = inv.byType('HostSystem');
    const datastores = inv.byType('Datastore');
    assert.equal(inv.byType('Datacenter').length, 1);
    assert.equal(clusters.length, 4);
    assert.equal(hosts.length, 32);
    assert.equal(datastores.length, 6);
    assert.ok(inv.byType('DistributedVirtualPortgroup').length >= 2);
    assert.ok(inv.byType('Network').some((n) => n.props['name'] === 'PG1'), 'standard port groups from the harness');
    for (const c of clusters) assert.equal((c.props['host'] as unknown[]).length, 8);
    const h = hosts[0];
    assert.equal(h?.props['runtime.connectionState'], 'connected');
    const hw = h?.props['summary.hardware'] as { numCpuCores?: unknown; memorySize?: unknown };
    assert.equal(typeof hw.numCpuCores, 'number');
    assert.equal(typeof hw.memorySize, 'number');
    const ds = datastores[0]?.props['summary'] as { capacity?: unknown; freeSpace?: unknown; type?: unknown };
    assert.equal(typeof ds.capacity, 'number');
  });

  it('reads through a container view, and follows changes with WaitForUpdatesEx and a version cursor', async () => {
    const view = await client.containerView(['HostSystem']);
    try {
      const hosts = await view.retrieve(client.pc, { HostSystem: ['name'] });
      assert.equal(hosts.length, 32);

      const pc = client.pc;
      const inv = await client.inventory();
      const [cluster] = inv.byType('ClusterComputeResource');
      const [dc] = inv.byType('Datacenter');
      assert.ok(cluster && dc);
      const vmView = await client.containerView(['VirtualMachine']);
      const filter = await pc.createFilter(vmView.filterSpec({ VirtualMachine: ['name', 'runtime.powerState'] }));
      const first = await pc.waitForUpdates('', { maxWaitSeconds: 5 });
      assert.ok(first);
      assert.equal(first.filterSet, undefined, 'no VMs yet');
      const entered = pc.waitForUpdates(first.version, { maxWaitSeconds: 10 });
      const { vmFolder } = await client.datacenter(dc.ref).folders();
      const pool = await client.cluster(cluster.ref).resourcePool();
      const vm = await vmFolder.createVM(smallVmSpec('watched', 'LocalDS_0'), pool.ref);
      // The VM enters the view with its name. Under load vcsim may report the entry before the
      // name is set (a later modify carries it), so the cursor is followed until both are seen.
      // (vcsim echoes the cursor rather than advancing it; a vCenter advances it. Either way we pass back what we got.)
      let next: UpdateSet | undefined = await entered;
      let version = first.version;
      const seen: { kind?: string; name?: unknown } = {};
      for (let round = 0; round < 10 && !(seen.kind === 'enter' && seen.name === 'watched'); round++) {
        if (round > 0) next = await pc.waitForUpdates(version, { maxWaitSeconds: 10 });
        assert.ok(next, 'an update set arrives before the wait times out');
        version = next.version;
        for (const u of (next.filterSet?.[0]?.objectSet ?? []).filter((x) => x.obj.value === vm.ref.value)) {
          seen.kind ??= u.kind;
          const name = u.changeSet?.find((c) => c.name === 'name');
          if (name !== undefined) seen.name = name.val;
        }
      }
      assert.deepEqual(seen, { kind: 'enter', name: 'watched' }, 'the VM entered the view first, and its name came with it or after it');
      const modified = pc.waitForUpdates(version, { maxWaitSeconds: 10 });
      await vm.powerOn();
      const third: UpdateSet | undefined = await modified;
      assert.ok(third);
      // Several modify updates of the VM may come in one set; the power change is among them.
      const mods = (third.filterSet?.[0]?.objectSet ?? []).filter((u) => u.obj.value === vm.ref.value);
      assert.ok(mods.length > 0 && mods.every((m) => m.kind === 'modify'));
      const power = mods.flatMap((m) => m.changeSet ?? []).find((c) => c.name === 'runtime.powerState');
      assert.equal(power?.val, 'poweredOn');
      await pc.destroyFilter(filter);
      await vmView.destroy();
    } finally {
      await view.destroy();
    }
  });
});
