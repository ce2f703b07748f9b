import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { VmwareDriver } from '../../../../src/compute/drivers/vmware/index.js';
import { PowerState } from '../../../../src/compute/states.js';
import { startTestVcsim, type TestVcsim } from '../../../vsphere/vcsim-harness.js';
import { pyvmomiView } from './pyvmomi.js';
import { instanceSpec, simOptions, testImage } from './support.js';

const t = (): AbortSignal => AbortSignal.timeout(30_000);

describe('VMware driver: a spawn resumed after the agent was killed', () => {
  let sim: TestVcsim;
  before(async () => {
    sim = await startTestVcsim({ clusters: 1, hostsPerCluster: 1 });
  });
  after(() => sim.stop());

  it('a new agent finds the half-built VM by uuid, and spawning again converges on one running VM', async () => {
    const image = testImage(Buffer.alloc(64 * 1024, 6));
    const first = new VmwareDriver(simOptions(sim, { clusterNames: ['DC0_C0'] }));
    await first.init(t());
    const node = (await first.listNodes(t()))[0]?.nodename ?? '';
    const inst = instanceSpec(node);
    // The first agent got as far as creating the VM (it never powered it on) and died:
    // simulate with a spawn whose power-on is held until that process is gone.
    await first.spawn(inst, image, t());
    await first.powerOff({ uuid: inst.uuid, node, driverInfo: {} }, { timeoutSeconds: 0 }, t());
    await first.close();

    const second = new VmwareDriver(simOptions(sim, { clusterNames: ['DC0_C0'] }));
    await second.init(t());
    try {
      // Recovery asks for the state without driver info (spawn never returned it).
      assert.deepEqual(await second.getInstanceState({ uuid: inst.uuid, node, driverInfo: {} }, t()), { exists: true, powerState: PowerState.SHUTDOWN });
      const { driverInfo } = await second.spawn(inst, image, t());
      const vms = (await pyvmomiView(sim)).vms.filter((v) => v.name === inst.uuid);
      assert.equal(vms.length, 1);
      assert.equal(vms[0]?.powerState, 'poweredOn');
      assert.equal(image.opens(), 1, 'the cache survived the restart: no second transfer');
      await second.destroy({ uuid: inst.uuid, node, driverInfo }, t());
      assert.equal((await pyvmomiView(sim)).vms.filter((v) => v.name === inst.uuid).length, 0);
    } finally {
      await second.close();
    }
  });
});
