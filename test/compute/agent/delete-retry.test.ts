import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DatabaseHandle } from '../../../src/db/database.js';
import { getAllocation } from '../../../src/db/repos/compute-nodes.js';
import { getInstance, latestInstanceAction, latestInstanceFault } from '../../../src/db/repos/instances.js';
import { PowerState } from '../../../src/compute/states.js';
import { DIALECTS } from '../../support/databases.js';
import { TestCloud } from './harness.js';

async function deleteEvents(h: DatabaseHandle, uuid: string): Promise<string[]> {
  const a = await latestInstanceAction(h.db, uuid, 'delete');
  if (!a) return [];
  return (await h.db.selectFrom('instance_action_events').select(['event', 'result']).where('action_id', '=', a.id).orderBy('id').execute()).map((e) => `${e.event} ${e.result ?? ''}`);
}

/**
 * A delete whose destroy fails because the hypervisor is unreachable (a retryable driver
 * error: libvirtd restarting, vCenter down) is retried with backoff until it succeeds, instead
 * of leaving the server in ERROR; a failure that is not retryable still ends in ERROR with a fault,
 * and power sync keeps that ERROR server's power state true to the hypervisor.
 */
const [sqlite] = DIALECTS;
if (sqlite !== undefined) {
  describe(`compute agent: delete while the hypervisor is unreachable (${sqlite.name})`, () => {
    let h: DatabaseHandle;
    let cloud: TestCloud;
    before(async () => {
      h = await sqlite.open();
      cloud = new TestCloud(h);
      await cloud.addCompute('c1');
      await cloud.addScheduler('controller:scheduler');
    });
    after(async () => {
      await cloud.stop();
      await h.close();
    });

    it('retries the destroy until the hypervisor answers, then the server is gone and its node freed', async () => {
      const [uuid = ''] = await cloud.createServers(1);
      await cloud.settled(uuid);
      const c1 = cloud.computes.get('c1');
      c1?.driver.inject({ op: 'destroy', uuid, times: 2, retryable: true, message: 'libvirt: failed to connect to the hypervisor' });
      await cloud.act(uuid, 'deleting', 'delete');
      const row = await cloud.settled(uuid, 20_000);
      assert.equal(row.deleted, 1);
      assert.equal(row.vm_state, 'deleted');
      assert.equal(await getAllocation(h.db, uuid), undefined);
      assert.ok(!c1?.driver.vms().some((v) => v.uuid === uuid), 'the VM is gone from the hypervisor');
      assert.deepEqual(await deleteEvents(h, uuid), ['compute_terminate_instance Error', 'compute_terminate_instance Error', 'compute_terminate_instance Success']);
    });

    it('a destroy failure that is not retryable ends the server in ERROR with a fault (delete again)', async () => {
      const [uuid = ''] = await cloud.createServers(1);
      await cloud.settled(uuid);
      cloud.computes.get('c1')?.driver.inject({ op: 'destroy', uuid, message: 'the datastore refused' });
      await cloud.act(uuid, 'deleting', 'delete');
      const row = await cloud.settled(uuid);
      assert.equal(row.vm_state, 'error');
      assert.equal((await latestInstanceFault(h.db, uuid))?.message, 'the datastore refused');
      // Power sync records the hypervisor's power state of an ERROR server too (Nova's
      // _sync_power_states), and takes no action on it: it stays ERROR, no task started.
      const c1 = cloud.computes.get('c1');
      await c1?.driver.setPowerState(uuid, PowerState.SHUTDOWN);
      await c1?.agent.syncPowerStates();
      const synced = await getInstance(h.db, uuid);
      assert.deepEqual([synced?.vm_state, synced?.power_state, synced?.task_state], ['error', PowerState.SHUTDOWN, null]);
      await cloud.act(uuid, 'deleting', 'delete', { vmState: 'error' });
      assert.equal((await cloud.settled(uuid)).deleted, 1);
    });
  });
}
