import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { VmwareDriver } from '../../../../src/compute/drivers/vmware/index.js';
import { Client } from '../../../../src/vsphere/index.js';
import { startTestVcsim, type TestVcsim } from '../../../vsphere/vcsim-harness.js';
import { pyvmomiView } from './pyvmomi.js';
import { instanceSpec, simOptions, testImage } from './support.js';

describe('VMware driver: the vCenter session ends during boots', () => {
  let sim: TestVcsim;
  let driver: VmwareDriver;
  let nodes: string[];
  before(async () => {
    sim = await startTestVcsim({ clusters: 2, hostsPerCluster: 1 });
    driver = new VmwareDriver(simOptions(sim));
    await driver.init(AbortSignal.timeout(30_000));
    nodes = (await driver.listNodes(AbortSignal.timeout(10_000))).map((n) => n.nodename);
  });
  after(async () => {
    await sim.setMethodDelay('CreateVM_Task', 0);
    await driver.close();
    await sim.stop();
  });

  it('TerminateSession while 20 boots are in flight: all 20 end running, after one re-login', async () => {
    const image = testImage(Buffer.alloc(64 * 1024, 9));
    const admin = await Client.connect({ url: sim.url, username: sim.username, password: sim.password, caFile: sim.caFile ?? '' });
    try {
      const key = driver.client.session.userSession?.key ?? '';
      const logins = driver.client.session.loginCount;
      await sim.setMethodDelay('CreateVM_Task', 300);
      const insts = Array.from({ length: 20 }, (_, i) => instanceSpec(nodes[i % 2] ?? ''));
      const boots = insts.map((inst) => driver.spawn(inst, image, AbortSignal.timeout(60_000)));
      // The driver keeps 8 connections: 8 CreateVM_Task calls held by the harness at once.
      await sim.waitInflight('CreateVM_Task', 8);
      await admin.terminateSessions([key]);
      await sim.setMethodDelay('CreateVM_Task', 0);
      const results = await Promise.allSettled(boots);
      assert.deepEqual(results.filter((r) => r.status === 'rejected').map((r) => String(r.reason)), []);
      assert.equal(driver.client.session.loginCount, logins + 1, 'one shared re-login');
      const vms = (await pyvmomiView(sim)).vms;
      for (const inst of insts) assert.equal(vms.find((v) => v.name === inst.uuid)?.powerState, 'poweredOn', inst.uuid);
      assert.equal(vms.filter((v) => insts.some((i) => i.uuid === v.name)).length, 20, 'no duplicate VM');
    } finally {
      await admin.close();
    }
  });
});

describe('VMware driver: the vCenter goes away', () => {
  it('close() still returns promptly (logout is bounded) instead of retrying for a minute', async () => {
    const sim = await startTestVcsim({ clusters: 1, hostsPerCluster: 1 });
    const driver = new VmwareDriver(simOptions(sim, { clusterNames: ['DC0_C0'], apiRetryCount: 10 }));
    await driver.init(AbortSignal.timeout(30_000));
    await sim.stop();
    const t0 = performance.now();
    await driver.close();
    assert.ok(performance.now() - t0 < 7000, `close took ${performance.now() - t0} ms`);
  });
});
