import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { VmwareDriver } from '../../../../src/compute/drivers/vmware/index.js';
import { methods, type Client } from '../../../../src/vsphere/index.js';
import { startTestVcsim, type TestVcsim } from '../../../vsphere/vcsim-harness.js';
import { simOptions } from './support.js';

describe('VMware driver nodes', () => {
  let sim: TestVcsim;
  let driver: VmwareDriver;
  before(async () => {
    sim = await startTestVcsim({ clusters: 2, hostsPerCluster: 3 });
    driver = new VmwareDriver(simOptions(sim));
    await driver.init(AbortSignal.timeout(30_000));
  });
  after(async () => {
    await driver.close();
    await sim.stop();
  });

  async function hosts(client: Client, cluster: string) {
    const inv = await client.inventory();
    const c = inv.byType('ClusterComputeResource').find((o) => o.props['name'] === cluster);
    assert.ok(c);
    return (c.props['host'] as { type: string; value: string }[]).map((h) => inv.byType('HostSystem').find((o) => o.ref.value === h.value)!);
  }

  it('one node per cluster named <cluster moref>.<vCenter instance uuid>, read in ONE round trip', async () => {
    const client = driver.client;
    const uuid = client.content.about.instanceUuid;
    assert.ok(uuid);
    client.counter.reset();
    const nodes = await driver.listNodes(AbortSignal.timeout(10_000));
    assert.equal(client.counter.total, 1, JSON.stringify(client.counter.byMethod()));
    assert.equal(nodes.length, 2);
    const inv = await client.inventory();
    for (const [i, node] of nodes.entries()) {
      const cluster = inv.byType('ClusterComputeResource').find((o) => o.props['name'] === `DC0_C${i}`);
      assert.equal(node.nodename, `${cluster?.ref.value}.${uuid}`);
      assert.equal(node.hypervisorType, 'VMware vCenter Server');
      assert.equal(node.hypervisorVersion, 6005000);
    }
    // Resources are the sum over the cluster's hosts (and its datastores).
    const hs = await hosts(client, 'DC0_C0');
    const threads = hs.reduce((n, h) => n + Number((h.props['summary.hardware'] as Record<string, unknown>)['numCpuThreads']), 0);
    const mem = hs.reduce((n, h) => n + Number((h.props['summary.hardware'] as Record<string, unknown>)['memorySize']), 0);
    assert.equal(nodes[0]?.vcpus, threads);
    assert.equal(nodes[0]?.memoryMb, Math.floor(mem / 2 ** 20));
    assert.ok((nodes[0]?.localGb ?? 0) > 0);
    // vcsim reports runtime.bootTime for its hosts: the node's uptime comes from the earliest.
    assert.ok(!Number.isNaN(Date.parse(nodes[0]?.bootTime ?? '')), `bootTime ${String(nodes[0]?.bootTime)}`);
  });

  it('a host in maintenance mode no longer counts', async () => {
    const client = driver.client;
    const before = (await driver.listNodes(AbortSignal.timeout(10_000)))[1];
    const [h] = await hosts(client, 'DC0_C1');
    assert.ok(h && before);
    const task = await methods.invoke(client.rt, 'EnterMaintenanceMode_Task', h.ref, { timeout: 0 }, 'once');
    await client.tasks.wait(methods.expectMoref(task, 'EnterMaintenanceMode_Task'));
    const afterNodes = await driver.listNodes(AbortSignal.timeout(10_000));
    const hw = h.props['summary.hardware'] as Record<string, unknown>;
    assert.equal(afterNodes[1]?.vcpus, before.vcpus - Number(hw['numCpuThreads']));
    assert.equal(afterNodes[1]?.memoryMb, Math.floor((before.memoryMb * 2 ** 20 - Number(hw['memorySize'])) / 2 ** 20));
    assert.equal(afterNodes[0]?.vcpus, (await driver.listNodes(AbortSignal.timeout(10_000)))[0]?.vcpus);
  });
});

describe('VMware driver against a standalone ESXi host', () => {
  let sim: TestVcsim;
  before(async () => {
    sim = await startTestVcsim({ esx: true, version: '7.0.3' });
  });
  after(() => sim.stop());

  it('the host is the one compute node (no cluster_name needed)', async () => {
    const driver = new VmwareDriver(simOptions(sim, { clusterNames: [], portGroup: 'VM Network' }));
    await driver.init(AbortSignal.timeout(30_000));
    try {
      const nodes = await driver.listNodes(AbortSignal.timeout(10_000));
      assert.equal(nodes.length, 1);
      assert.equal(nodes[0]?.hypervisorVersion, 7000003);
      assert.ok((nodes[0]?.vcpus ?? 0) > 0);
    } finally {
      await driver.close();
    }
  });
});
