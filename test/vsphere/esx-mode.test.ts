import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '../../src/vsphere/index.js';
import { startTestVcsim, type TestVcsim } from './vcsim-harness.js';

describe('harness in ESXi mode with a chosen version', () => {
  let sim: TestVcsim;
  before(async () => {
    sim = await startTestVcsim({ esx: true, version: '7.0.3' });
  });
  after(() => sim.stop());

  it('answers as a standalone ESXi host of the requested version', async () => {
    assert.equal(sim.version, '7.0.3');
    const client = await Client.connect({ url: sim.url, username: sim.username, password: sim.password, caFile: sim.caFile ?? '' });
    try {
      assert.equal(client.isVCenter, false);
      assert.equal(client.content.about.apiType, 'HostAgent');
      assert.equal(client.content.about.version, '7.0.3');
      assert.equal(client.content.about.apiVersion, '7.0');
      const inv = await client.inventory({ vms: true });
      assert.equal(inv.byType('HostSystem').length, 1);
      assert.equal(inv.byType('ClusterComputeResource').length, 0);
      const [vm] = inv.byType('VirtualMachine');
      assert.ok(vm);
      await client.vm(vm.ref).powerOff();
      assert.equal(await client.vm(vm.ref).powerState(), 'poweredOff');
    } finally {
      await client.close();
    }
  });
});
