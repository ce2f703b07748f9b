import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { openDatabase, type DatabaseHandle } from '../../../src/db/database.js';
import { DIALECTS } from '../../support/databases.js';
import { TestCloud } from '../agent/harness.js';

/**
 * The foundation issue's acceptance test without HTTP: 200 concurrent builds, 5 nodes with
 * room for exactly 150 (30 vCPUs each, cpu_allocation_ratio 1.0, 1-vCPU flavor).
 */
for (const dialect of DIALECTS) {
  describe(`200 concurrent builds for 150 slots (${dialect.name})`, () => {
    let h: DatabaseHandle;
    let second: DatabaseHandle | undefined;
    let cloud: TestCloud;
    before(async () => {
      h = await dialect.open();
      cloud = new TestCloud(h);
      for (let i = 1; i <= 5; i++) await cloud.addCompute(`cmp${i}`);
      await cloud.addScheduler('controller-a:scheduler');
      if (dialect.name === 'postgres') {
        // A second scheduler process: its own pool and LISTEN connection to the same database.
        second = await openDatabase(h.description, tmpdir());
        await cloud.addScheduler('controller-b:scheduler', '', second);
      }
    });
    after(async () => {
      await cloud.stop();
      await second?.close();
      await h.close();
    });

    it('makes exactly 150 ACTIVE and 50 ERROR with "No valid host", and no node goes over capacity', async () => {
      const uuids = await cloud.createServers(200);
      const rows = await Promise.all(uuids.map((u) => cloud.settled(u, 60_000)));
      const active = rows.filter((r) => r.vm_state === 'active');
      const failed = rows.filter((r) => r.vm_state === 'error');
      assert.equal(active.length, 150);
      assert.equal(failed.length, 50);
      const faults = await h.db.selectFrom('instance_faults').select(['instance_uuid', 'message']).where('instance_uuid', 'in', failed.map((r) => r.uuid)).execute();
      assert.equal(new Set(faults.map((f) => f.instance_uuid)).size, 50);
      for (const f of faults) assert.match(f.message, /^No valid host was found\./);

      const nodes = await h.db.selectFrom('compute_nodes').selectAll().execute();
      assert.equal(nodes.length, 5);
      for (const n of nodes) {
        assert.ok(n.vcpus_used <= n.vcpus, `${n.hypervisor_hostname}: ${n.vcpus_used} of ${n.vcpus} vCPUs`);
        const sum = await h.db.selectFrom('allocations').select((eb) => eb.fn.sum<number | string>('vcpus').as('s')).where('node_id', '=', n.id).executeTakeFirst();
        assert.equal(Number(sum?.s ?? 0), n.vcpus_used, `${n.hypervisor_hostname}: counters equal the sum of allocations`);
      }
      assert.equal(nodes.reduce((a, n) => a + n.vcpus_used, 0), 150);
      const vms = [...cloud.computes.values()].reduce((a, c) => a + c.driver.vms().length, 0);
      assert.equal(vms, 150, 'exactly 150 VMs exist on the hypervisors');
      if (second) {
        const owners = await h.db.selectFrom('instances').select('lease_owner').where('lease_owner', 'is not', null).execute();
        assert.deepEqual(owners, [], 'no lease is left behind');
      }
    });
  });
}
