import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { FakeDriver } from '../../../src/compute/drivers/fake/index.js';
import { PowerState } from '../../../src/compute/states.js';
import type { DatabaseHandle } from '../../../src/db/database.js';
import { getInstance, latestInstanceAction, latestInstanceFault, updateInstance } from '../../../src/db/repos/instances.js';
import { DIALECTS } from '../../support/databases.js';
import { FLAVOR, TestCloud, testConfig } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'polyvisor-recovery-'));
after(() => rmSync(dir, { recursive: true, force: true }));

for (const dialect of DIALECTS) {
  describe(`agent recovery and power sync (${dialect.name})`, () => {
    let h: DatabaseHandle;
    let cloud: TestCloud;
    let n = 0;
    beforeEach(async () => {
      h = await dialect.open();
      cloud = new TestCloud(h);
    });
    afterEach(async () => {
      await cloud.stop();
      await h.close();
    });

    it('resumes builds cut short by a crash: nothing stays in BUILD', async () => {
      const statePath = join(dir, `${dialect.name}-${++n}.json`);
      const c = await cloud.addCompute('c1', '[fake]\nspawn_delay_ms = 60000\n', { statePath });
      await cloud.addScheduler('s1');
      const uuids = await cloud.createServers(5);
      await cloud.waitFor('every build to be spawning', async () => {
        const rows = await h.db.selectFrom('instances').select('task_state').where('uuid', 'in', uuids).execute();
        return rows.every((r) => r.task_state === 'spawning');
      });
      await c.agent.stop(); // the "crash": spawns are cut off, the database is left as it was
      assert.ok((await h.db.selectFrom('instances').select('task_state').where('uuid', 'in', uuids).execute()).every((r) => r.task_state === 'spawning'));

      await cloud.addCompute('c1', '', { statePath });
      for (const uuid of uuids) assert.equal((await cloud.settled(uuid)).vm_state, 'active');
    });

    it('finishes a build the hypervisor completed, re-runs interrupted actions and ends unknown tasks with a fault', async () => {
      const statePath = join(dir, `${dialect.name}-${++n}.json`);
      const first = await cloud.addCompute('c1', '', { statePath });
      await cloud.addScheduler('s1');
      const [built = '', stopping = '', snapshotting = '', orphan = ''] = await cloud.createServers(4);
      for (const u of [built, stopping, snapshotting, orphan]) assert.equal((await cloud.settled(u)).vm_state, 'active');
      await first.agent.stop();

      // The hypervisor finished a spawn but the agent died before recording it.
      await updateInstance(h.db, built, {}, { vm_state: 'building', task_state: 'spawning', power_state: 0 });
      // A stop was accepted by the API but never run; a task no agent resumes (snapshots and
      // shelve are resumed since they arrived, so a build-time one stands in); a build lost its task.
      await updateInstance(h.db, stopping, {}, { task_state: 'powering-off' });
      await updateInstance(h.db, snapshotting, {}, { task_state: 'block_device_mapping' });
      await updateInstance(h.db, orphan, {}, { vm_state: 'building', task_state: null });

      // If recovery re-ran the finished spawn instead of finishing it, this would fail it.
      const driver = new FakeDriver({ ...testConfig('c1').fake, host: 'c1', statePath });
      assert.equal(driver.vms().length, 4, 'the hypervisor remembers its VMs across the restart');
      const c = await cloud.addCompute('c1', '', { statePath });
      c.driver.inject({ op: 'spawn', times: Infinity, message: 'must not be called' });

      const b = await cloud.settled(built);
      assert.equal(b.vm_state, 'active');
      assert.equal(b.power_state, PowerState.RUNNING);
      assert.equal((await cloud.settled(stopping)).vm_state, 'stopped');
      const s = await cloud.settled(snapshotting);
      assert.equal(s.vm_state, 'active');
      assert.match((await latestInstanceFault(h.db, snapshotting))?.message ?? '', /block_device_mapping of instance .* was interrupted by a restart of compute host c1/);
      assert.equal((await cloud.settled(orphan)).vm_state, 'error');
      assert.match((await latestInstanceFault(h.db, orphan))?.message ?? '', /interrupted by a restart/);
    });

    it('syncs power states with Nova\'s rules: a guest that shut itself down becomes SHUTOFF', async () => {
      const c = await cloud.addCompute('c1');
      await cloud.addScheduler('s1');
      const [a = '', b = ''] = await cloud.createServers(2, { flavor: FLAVOR });
      await cloud.settled(a);
      await cloud.settled(b);
      await c.driver.setPowerState(a, PowerState.SHUTDOWN);
      await cloud.act(b, 'powering-off', 'stop');
      await cloud.settled(b);
      await c.driver.setPowerState(b, PowerState.RUNNING); // a stopped server found running

      assert.equal(await c.agent.syncPowerStates(), 2);
      const ra = await cloud.settled(a);
      assert.equal(ra.vm_state, 'stopped');
      assert.equal(ra.power_state, PowerState.SHUTDOWN);
      assert.equal((await latestInstanceAction(h.db, a, 'stop'))?.request_id, `req-power-sync-${a}`);
      const rb = await cloud.settled(b);
      assert.equal(rb.vm_state, 'stopped');
      assert.equal(rb.power_state, PowerState.SHUTDOWN, 'the running guest of a stopped server was powered off');
      assert.equal(c.driver.vms().find((v) => v.uuid === b)?.powerState, PowerState.SHUTDOWN);
      assert.equal(await c.agent.syncPowerStates(), 0, 'a second sync finds nothing to do');
      assert.equal((await getInstance(h.db, a))?.task_state, null);
    });
  });
}
