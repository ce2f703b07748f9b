import assert from 'node:assert/strict';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { VmwareDriver } from '../../../../src/compute/drivers/vmware/index.js';
import { startTestVcsim, type TestVcsim } from '../../../vsphere/vcsim-harness.js';
import { datastorePath, instanceSpec, simOptions, testImage } from './support.js';

const t = (): AbortSignal => AbortSignal.timeout(60_000);

describe('VMware image cache shared by agents through cache_prefix', () => {
  let sim: TestVcsim;
  let a: VmwareDriver;
  let b: VmwareDriver;
  let nodes: string[];
  before(async () => {
    sim = await startTestVcsim({ clusters: 2, hostsPerCluster: 1 });
    // Two compute agents, one cluster each, on the same datastore and cache folder.
    a = new VmwareDriver(simOptions(sim, { clusterNames: ['DC0_C0'], cacheFolder: 'shared-vmware_base' }));
    b = new VmwareDriver(simOptions(sim, { clusterNames: ['DC0_C1'], cacheFolder: 'shared-vmware_base', cacheLockTimeoutMs: 300 }));
    await a.init(t());
    await b.init(t());
    nodes = [(await a.listNodes(t()))[0]?.nodename ?? '', (await b.listNodes(t()))[0]?.nodename ?? ''];
  });
  after(async () => {
    await a.close();
    await b.close();
    await sim.stop();
  });

  it('20 concurrent boots of a new image through two agents move its bytes exactly once', async () => {
    const image = testImage(Buffer.alloc(8 * 1024 * 1024, 7));
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).spawn(instanceSpec(nodes[i % 2] ?? ''), image, t())));
    assert.equal(image.opens(), 1);
    assert.deepEqual(readdirSync(join(datastorePath(sim), 'shared-vmware_base', image.id)).sort(), [`${image.id}-flat.vmdk`, `${image.id}.vmdk`]);
  });

  it('an entry another agent left unfinished (it was killed) is taken over after the wait', async () => {
    const image = testImage(Buffer.alloc(64 * 1024, 8));
    mkdirSync(join(datastorePath(sim), 'shared-vmware_base', image.id));
    await b.spawn(instanceSpec(nodes[1] ?? ''), image, t());
    assert.equal(image.opens(), 1);
    assert.deepEqual(readdirSync(join(datastorePath(sim), 'shared-vmware_base', image.id)).sort(), [`${image.id}-flat.vmdk`, `${image.id}.vmdk`]);
  });
});
