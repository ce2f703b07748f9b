import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { DatabaseHandle } from '../../../src/db/database.js';
import { getAllocation, getComputeNode } from '../../../src/db/repos/compute-nodes.js';
import { latestInstanceFault } from '../../../src/db/repos/instances.js';
import { getService, setServiceStatus } from '../../../src/db/repos/services.js';
import { DIALECTS } from '../../support/databases.js';
import { TestCloud } from './harness.js';

for (const dialect of DIALECTS) {
  describe(`rescheduling and service liveness (${dialect.name})`, () => {
    let h: DatabaseHandle;
    let cloud: TestCloud;
    beforeEach(async () => {
      h = await dialect.open();
      cloud = new TestCloud(h);
    });
    afterEach(async () => {
      await cloud.stop();
      await h.close();
    });

    it('reschedules a retryable spawn failure onto another node, where it succeeds', async () => {
      const c = await cloud.addCompute('c1', '[fake]\nnodes = 2\n');
      await cloud.addScheduler('s1');
      c.driver.inject({ op: 'spawn', retryable: true, times: 1, message: 'datastore full on this node' });
      const [uuid = ''] = await cloud.createServers(1);
      const row = await cloud.settled(uuid);
      assert.equal(row.vm_state, 'active');
      const tried = JSON.parse(row.retry_nodes) as string[];
      assert.equal(tried.length, 1);
      assert.notEqual(row.node, tried[0], 'the second attempt ran on the other node');
      assert.equal((await getComputeNode(h.db, tried[0] ?? ''))?.vcpus_used, 0, 'the failed node got its resources back');
      assert.equal((await getComputeNode(h.db, row.node ?? ''))?.vcpus_used, 1);
    });

    it('ends in ERROR with "No valid host" after max_attempts failed attempts', async () => {
      const c = await cloud.addCompute('c1', '[fake]\nnodes = 4\n');
      await cloud.addScheduler('s1');
      c.driver.inject({ op: 'spawn', retryable: true, times: Infinity, message: 'host is unhappy' });
      const [uuid = ''] = await cloud.createServers(1);
      const row = await cloud.settled(uuid);
      assert.equal(row.vm_state, 'error');
      assert.equal((JSON.parse(row.retry_nodes) as string[]).length, 3);
      const fault = await latestInstanceFault(h.db, uuid);
      assert.equal(fault?.message, `No valid host was found. Exceeded max scheduling attempts 3 for instance ${uuid}.`);
      assert.match(fault?.details ?? '', /Last exception: host is unhappy/);
      assert.equal(await getAllocation(h.db, uuid), undefined);
      for (const n of c.driver.nodeNames) assert.equal((await getComputeNode(h.db, n))?.vcpus_used, 0, `${n} is empty`);
    });

    it('sends nothing to a disabled or a down compute service', async () => {
      await cloud.addCompute('up');
      const disabled = await cloud.addCompute('off');
      const down = await cloud.addCompute('dead');
      const svc = await getService(h.db, disabled.host, 'nova-compute');
      await setServiceStatus(h.db, svc?.id ?? 0, { disabled: true, disabledReason: 'maintenance' });
      await down.agent.stop();
      await h.db.updateTable('services').set({ last_seen_at: new Date(Date.now() - 120_000).toISOString() }).where('host', '=', 'dead').execute();
      await cloud.addScheduler('s1');
      const uuids = await cloud.createServers(6);
      for (const uuid of uuids) {
        const row = await cloud.settled(uuid);
        assert.equal(row.vm_state, 'active');
        assert.equal(row.host, 'up');
      }
      const [pinned = ''] = await cloud.createServers(1, { az: 'nova:off' });
      const row = await cloud.settled(pinned);
      assert.equal(row.vm_state, 'error');
      assert.match((await latestInstanceFault(h.db, pinned))?.message ?? '', /^No valid host was found\. .*ComputeFilter removed 2 of 3/);
      assert.deepEqual(disabled.driver.vms(), []);
      assert.deepEqual(down.driver.vms(), []);
    });

    it('explains which filter removed the nodes when nothing fits', async () => {
      await cloud.addCompute('c1', '[fake]\nnodes = 2\nvcpus = 2\n');
      await cloud.addScheduler('s1');
      const [uuid = ''] = await cloud.createServers(1, { flavor: { id: 'big', name: 'big', vcpus: 4, memory_mb: 64, root_gb: 1, ephemeral_gb: 0, swap: 0, extra_specs: {} } });
      const row = await cloud.settled(uuid);
      assert.equal(row.vm_state, 'error');
      assert.equal(row.host, null);
      const fault = await latestInstanceFault(h.db, uuid);
      assert.equal(fault?.code, 500);
      assert.equal(fault?.message, 'No valid host was found. There are not enough hosts available. CoreFilter removed 2 of 2.');
      assert.match(fault?.details ?? '', /CoreFilter \(start: 2, end: 0\)/);
    });
  });
}
