import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DatabaseHandle } from '../../../src/db/database.js';
import { claimOnNode, getAllocation, getComputeNode, releaseAllocation, upsertComputeNode, type NodeReport } from '../../../src/db/repos/compute-nodes.js';
import { registerService } from '../../../src/db/repos/services.js';
import { DIALECTS } from '../../support/databases.js';

const REPORT: NodeReport = {
  nodename: 'n1',
  hypervisorType: 'fake',
  hypervisorVersion: 1000,
  hostIp: '127.0.0.1',
  cpuInfo: '{}',
  capabilities: '{}',
  availabilityZone: null,
  vcpus: 10,
  memoryMb: 4096,
  localGb: 100,
  runningVms: 0,
  cpuAllocationRatio: 1,
  ramAllocationRatio: 1,
  diskAllocationRatio: 1,
  reservedHostMemoryMb: 0,
  reservedHostDiskMb: 1,
  reservedHostCpus: 0,
};

for (const dialect of DIALECTS) {
  describe(`compute node claims (${dialect.name})`, () => {
    let h: DatabaseHandle;
    let nodeId = 0;
    before(async () => {
      h = await dialect.open();
      const svc = await registerService(h.db, { host: 'c1', binary: 'nova-compute', topic: 'compute' });
      nodeId = (await upsertComputeNode(h.db, svc.id, REPORT)).row.id;
    });
    after(async () => h.close());

    it('lets exactly as many concurrent claims win as the node has room for', async () => {
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          h.db.transaction().execute((trx) => claimOnNode(trx, nodeId, `i-${i}`, { vcpus: 1, memoryMb: 100, diskGb: 1 })),
        ),
      );
      assert.equal(results.filter(Boolean).length, 10);
      const node = await getComputeNode(h.db, 'n1');
      assert.deepEqual([node?.vcpus_used, node?.memory_mb_used, node?.local_gb_used], [10, 1000, 10]);
      const allocs = await h.db.selectFrom('allocations').selectAll().execute();
      assert.equal(allocs.length, 10);
    });

    it('releases an allocation once, however often it is asked', async () => {
      const uuid = (await h.db.selectFrom('allocations').select('instance_uuid').executeTakeFirstOrThrow()).instance_uuid;
      assert.equal(await releaseAllocation(h.db, uuid), 'n1');
      assert.equal(await releaseAllocation(h.db, uuid), undefined);
      assert.equal(await getAllocation(h.db, uuid), undefined);
      assert.equal((await getComputeNode(h.db, 'n1'))?.vcpus_used, 9);
    });

    it('checks disk against capacity minus the reserved amount rounded up to GB, and skips zero requests', async () => {
      assert.equal(await claimOnNode(h.db, nodeId, 'disk-too-big', { vcpus: 0, memoryMb: 0, diskGb: 91 }), false, '100 GB − 1 GB reserved − 9 used leaves 90');
      assert.equal(await claimOnNode(h.db, nodeId, 'disk-fits', { vcpus: 0, memoryMb: 0, diskGb: 80 }), true, 'a request with no vCPUs fits a node with none left');
    });

    it('keeps usage when the agent reports the node again', async () => {
      const svc = await registerService(h.db, { host: 'c1', binary: 'nova-compute', topic: 'compute' });
      const { row, changed } = await upsertComputeNode(h.db, svc.id, { ...REPORT, vcpus: 12, runningVms: 3 });
      assert.equal(changed, true);
      assert.equal(row.vcpus, 12);
      assert.equal(row.vcpus_used, 9);
      assert.equal((await upsertComputeNode(h.db, svc.id, { ...REPORT, vcpus: 12, runningVms: 4 })).changed, false, 'only running_vms changed');
    });
  });
}
