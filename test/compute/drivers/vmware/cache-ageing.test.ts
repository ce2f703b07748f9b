import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { VmwareDriver } from '../../../../src/compute/drivers/vmware/index.js';
import { startTestVcsim, type TestVcsim } from '../../../vsphere/vcsim-harness.js';
import { datastorePath, instanceSpec, simOptions, testImage } from './support.js';

const t = (): AbortSignal => AbortSignal.timeout(30_000);

describe('VMware image-cache ageing', () => {
  let sim: TestVcsim;
  let patient: VmwareDriver;
  let eager: VmwareDriver;
  let node: string;
  before(async () => {
    sim = await startTestVcsim({ clusters: 1, hostsPerCluster: 1 });
    patient = new VmwareDriver(simOptions(sim, { clusterNames: ['DC0_C0'] }));
    eager = new VmwareDriver(simOptions(sim, { clusterNames: ['DC0_C0'], removeUnusedMinimumAgeSeconds: 0 }));
    await patient.init(t());
    await eager.init(t());
    node = (await patient.listNodes(t()))[0]?.nodename ?? '';
  });
  after(async () => {
    await patient.close();
    await eager.close();
    await sim.stop();
  });

  it('keeps images in use, marks unused ones, removes them once older than the minimum age', async () => {
    const used = testImage(Buffer.alloc(4096, 1));
    const unused = testImage(Buffer.alloc(4096, 2));
    await patient.spawn(instanceSpec(node), used, t());
    const gone = instanceSpec(node);
    const { driverInfo } = await patient.spawn(gone, unused, t());
    await patient.destroy({ uuid: gone.uuid, node, driverInfo }, t());
    const cache = join(datastorePath(sim), 'vmware_base');

    const first = await patient.ageImageCache(t());
    assert.deepEqual(first, { removed: [], keptYoung: 1, inUse: 1 });
    assert.ok(readdirSync(join(cache, unused.id)).some((f) => /^ts-\d+$/.test(f)), 'the unused entry got its timestamp marker');
    assert.ok(!readdirSync(join(cache, used.id)).some((f) => f.startsWith('ts-')));

    // An agent sharing the datastore whose minimum age has passed removes it.
    const second = await eager.ageImageCache(t());
    assert.deepEqual(second, { removed: [`LocalDS_0/${unused.id}`], keptYoung: 0, inUse: 1 });
    assert.ok(!existsSync(join(cache, unused.id)));
    assert.ok(existsSync(join(cache, used.id, `${used.id}.vmdk`)));

    // Booting it again (through the agent that removed it) transfers it again.
    await eager.spawn(instanceSpec(node), unused, t());
    assert.equal(unused.opens(), 2);
  });

  it('with remove_unused_base_images = False nothing is removed', async () => {
    const keep = new VmwareDriver(simOptions(sim, { clusterNames: ['DC0_C0'], removeUnusedMinimumAgeSeconds: 0, removeUnusedBaseImages: false }));
    await keep.init(t());
    try {
      const img = testImage(Buffer.alloc(4096, 3));
      const inst = instanceSpec(node);
      const { driverInfo } = await keep.spawn(inst, img, t());
      await keep.destroy({ uuid: inst.uuid, node, driverInfo }, t());
      const r = await keep.ageImageCache(t());
      assert.deepEqual(r.removed, []);
      assert.ok(existsSync(join(datastorePath(sim), 'vmware_base', img.id, `${img.id}.vmdk`)));
    } finally {
      await keep.close();
    }
  });
});
