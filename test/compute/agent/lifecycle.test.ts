import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DatabaseHandle } from '../../../src/db/database.js';
import { getAllocation, getComputeNode } from '../../../src/db/repos/compute-nodes.js';
import { getInstance, latestInstanceAction, latestInstanceFault } from '../../../src/db/repos/instances.js';
import { DIALECTS } from '../../support/databases.js';
import { TestCloud } from './harness.js';

async function events(h: DatabaseHandle, uuid: string, action: string) {
  const a = await latestInstanceAction(h.db, uuid, action);
  if (!a) return [];
  return h.db.selectFrom('instance_action_events').selectAll().where('action_id', '=', a.id).orderBy('id').execute();
}

for (const dialect of DIALECTS) {
  describe(`compute agent lifecycle (${dialect.name})`, () => {
    let h: DatabaseHandle;
    let cloud: TestCloud;
    before(async () => {
      h = await dialect.open();
      cloud = new TestCloud(h);
      await cloud.addCompute('c1', '[fake]\nnodes = 2\n');
      await cloud.addScheduler('controller:scheduler');
    });
    after(async () => {
      await cloud.stop();
      await h.close();
    });

    it('builds a server to ACTIVE on a node of the host and records the build event', async () => {
      const [uuid = ''] = await cloud.createServers(1);
      const row = await cloud.settled(uuid);
      assert.equal(row.vm_state, 'active');
      assert.equal(row.power_state, 1);
      assert.equal(row.host, 'c1');
      assert.match(row.node ?? '', /^c1-fake-[12]$/);
      assert.equal(row.availability_zone, 'nova');
      assert.ok(row.launched_at);
      const alloc = await getAllocation(h.db, uuid);
      assert.deepEqual([alloc?.vcpus, alloc?.memory_mb, alloc?.disk_gb], [1, 64, 1]);
      const node = await getComputeNode(h.db, row.node ?? '');
      assert.equal(node?.vcpus_used, 1);
      const ev = await events(h, uuid, 'create');
      assert.deepEqual(ev.map((e) => [e.event, e.result]), [['compute__do_build_and_run_instance', 'Success']]);
      assert.ok(cloud.computes.get('c1')?.driver.vms().some((v) => v.uuid === uuid && v.powerState === 1));
    });

    it('runs every server action and ends each with the right states and event', async () => {
      const [uuid = ''] = await cloud.createServers(1);
      await cloud.settled(uuid);
      const steps: [string, string, string, string, number, string][] = [
        ['powering-off', 'stop', 'stopped', 'SHUTOFF', 4, 'compute_stop_instance'],
        ['powering-on', 'start', 'active', 'ACTIVE', 1, 'compute_start_instance'],
        ['rebooting', 'reboot', 'active', 'ACTIVE', 1, 'compute_reboot_instance'],
        ['rebooting_hard', 'reboot', 'active', 'ACTIVE', 1, 'compute_reboot_instance'],
        ['suspending', 'suspend', 'suspended', 'SUSPENDED', 7, 'compute_suspend_instance'],
        ['resuming', 'resume', 'active', 'ACTIVE', 1, 'compute_resume_instance'],
        ['pausing', 'pause', 'paused', 'PAUSED', 3, 'compute_pause_instance'],
        ['unpausing', 'unpause', 'active', 'ACTIVE', 1, 'compute_unpause_instance'],
      ];
      for (const [task, action, vmState, , power, event] of steps) {
        await cloud.act(uuid, task, action);
        const row = await cloud.settled(uuid);
        assert.equal(row.vm_state, vmState, `${action}: vm_state`);
        assert.equal(row.power_state, power, `${action}: power_state`);
        const ev = await events(h, uuid, action);
        assert.deepEqual(ev.map((e) => [e.event, e.result]).at(-1), [event, 'Success'], `${action}: event`);
      }
      await cloud.act(uuid, 'deleting', 'delete');
      const gone = await cloud.settled(uuid);
      assert.equal(gone.deleted, 1);
      assert.equal(gone.vm_state, 'deleted');
      assert.ok(gone.terminated_at);
      assert.equal(await getAllocation(h.db, uuid), undefined, 'the allocation is released');
      assert.ok(!cloud.computes.get('c1')?.driver.vms().some((v) => v.uuid === uuid), 'the VM is gone from the hypervisor');
      assert.deepEqual((await events(h, uuid, 'delete')).map((e) => [e.event, e.result]), [['compute_terminate_instance', 'Success']]);
    });

    it('keeps the vm_state and records a fault when a power action fails', async () => {
      const [uuid = ''] = await cloud.createServers(1);
      await cloud.settled(uuid);
      cloud.computes.get('c1')?.driver.inject({ op: 'powerOff', uuid, message: 'the guest refused to stop' });
      await cloud.act(uuid, 'powering-off', 'stop');
      const row = await cloud.settled(uuid);
      assert.equal(row.vm_state, 'active');
      assert.equal(row.task_state, null);
      assert.equal(row.power_state, 1);
      assert.equal((await latestInstanceFault(h.db, uuid))?.message, 'the guest refused to stop');
      const ev = await events(h, uuid, 'stop');
      assert.equal(ev.at(-1)?.result, 'Error');
      assert.equal((await latestInstanceAction(h.db, uuid, 'stop'))?.message, 'Error');
    });

    it('deletes a server whose build is still running, and frees its node', async () => {
      const c2 = await cloud.addCompute('slow', '[fake]\nspawn_delay_ms = 300\n');
      const [uuid = ''] = await cloud.createServers(1, { az: 'nova:slow' });
      await cloud.waitFor('the slow build to be placed', async () => (await getInstance(h.db, uuid))?.task_state === 'spawning');
      await cloud.act(uuid, 'deleting', 'delete');
      const row = await cloud.settled(uuid);
      assert.equal(row.deleted, 1);
      assert.equal(row.vm_state, 'deleted');
      assert.deepEqual(c2.driver.vms(), [], 'the VM the build made was destroyed');
      assert.equal((await getComputeNode(h.db, 'slow-fake-1'))?.vcpus_used, 0);
    });

    it('ends a build whose image is missing in ERROR with a fault, releasing the allocation', async () => {
      const [uuid = ''] = await cloud.createServers(1, { imageRef: 'no-such-image' });
      const row = await cloud.settled(uuid);
      assert.equal(row.vm_state, 'error');
      assert.match((await latestInstanceFault(h.db, uuid))?.message ?? '', /Image no-such-image could not be found/);
      assert.equal(await getAllocation(h.db, uuid), undefined);
    });
  });
}
