import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DatabaseHandle } from '../../src/db/database.js';
import { getInstance, insertInstances, updateInstance } from '../../src/db/repos/instances.js';
import type { NewInstance } from '../../src/db/schema.js';
import { now } from '../../src/db/time.js';
import { DIALECTS } from '../support/databases.js';

function newInstance(uuid: string): NewInstance {
  const t = now();
  return {
    uuid,
    display_name: 'vm',
    display_description: null,
    hostname: 'vm',
    project_id: 'p1',
    user_id: 'u1',
    flavor: '{}',
    image_ref: 'img',
    key_name: null,
    key_data: null,
    user_data: null,
    availability_zone: null,
    requested_availability_zone: null,
    host: null,
    node: null,
    vm_state: 'building',
    task_state: 'scheduling',
    power_state: 0,
    reservation_id: 'r-1',
    created_at: t,
    updated_at: t,
  };
}

for (const dialect of DIALECTS) {
  describe(`instance repository (${dialect.name})`, () => {
    let h: DatabaseHandle;
    before(async () => {
      h = await dialect.open();
    });
    after(async () => h.close());

    it('applies a guarded update only when the row is in the expected state', async () => {
      await insertInstances(h.db, [newInstance('i-1')]);
      const won = await updateInstance(h.db, 'i-1', { vmState: 'building', taskState: 'scheduling' }, { task_state: 'spawning', host: 'h1' });
      assert.equal(won?.task_state, 'spawning');
      assert.equal(won?.version, 1);
      const lost = await updateInstance(h.db, 'i-1', { taskState: 'scheduling' }, { task_state: 'deleting' });
      assert.equal(lost, undefined, 'a writer expecting the old task_state must lose');
      const row = await getInstance(h.db, 'i-1');
      assert.equal(row?.task_state, 'spawning');
      assert.equal(row?.host, 'h1');
    });

    it('matches a null task_state and a version', async () => {
      await insertInstances(h.db, [{ ...newInstance('i-2'), task_state: null, vm_state: 'active' }]);
      assert.equal(await updateInstance(h.db, 'i-2', { taskState: null, version: 5 }, { task_state: 'powering-off' }), undefined);
      const ok = await updateInstance(h.db, 'i-2', { taskState: [null], version: 0 }, { task_state: 'powering-off' });
      assert.equal(ok?.task_state, 'powering-off');
    });

    it('lets exactly one of many concurrent writers win', async () => {
      await insertInstances(h.db, [{ ...newInstance('i-3'), task_state: null, vm_state: 'active' }]);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => updateInstance(h.db, 'i-3', { taskState: null }, { task_state: `t${i}` })),
      );
      assert.equal(results.filter((r) => r !== undefined).length, 1);
    });
  });
}
