import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { getInstance } from '../../../src/db/repos/instances.js';
import { PowerState } from '../../../src/compute/states.js';
import { TestCloud } from '../agent/harness.js';
import { at, IMAGE_ID, list, startHarness, str, type ComputeHarness } from './harness.js';

/**
 * Soft delete ([DEFAULT] reclaim_instance_interval > 0, os-deferred-delete) end to end: the
 * Compute API, the scheduler and a compute agent with a fake hypervisor on one SQLite database.
 */
describe('compute API: soft delete, restore and forceDelete (reclaim_instance_interval = 3600)', () => {
  let t: ComputeHarness;
  let cloud: TestCloud;
  const CONF = '[DEFAULT]\nreclaim_instance_interval = 3600\n';
  before(async () => {
    t = await startHarness(CONF);
    cloud = new TestCloud(t.h);
    cloud.images.ids.add(IMAGE_ID);
    await cloud.addCompute('cmp1', CONF);
    await cloud.addScheduler('sched');
  });
  after(async () => {
    await cloud.stop();
    await t.close();
  });

  const V = { 'OpenStack-API-Version': 'compute 2.16' };
  const act = (uuid: string, body: unknown, token = 'member-a') => t.call('POST', `/compute/v2.1/servers/${uuid}/action`, token, body, V);
  const show = async (uuid: string) => (await t.call('GET', `/compute/v2.1/servers/${uuid}`, 'member-a', undefined, V)).body;
  const status = async (uuid: string) => str(await show(uuid), 'server', 'status');
  const settled = (uuid: string, want: string) =>
    cloud.waitFor(`server ${uuid} to be ${want}`, async () => {
      const row = await getInstance(t.h.db, uuid);
      return row?.task_state === null && (await status(uuid)) === want ? row : undefined;
    });
  const vm = (uuid: string) => cloud.computes.get('cmp1')?.driver.vms().find((v) => v.uuid === uuid);
  const used = async () => at((await t.call('GET', '/compute/v2.1/limits', 'member-a')).body, 'limits', 'absolute', 'totalInstancesUsed');
  const create = async () => {
    const res = await t.call('POST', '/compute/v2.1/servers', 'member-a', { server: { name: 'vm', imageRef: IMAGE_ID, flavorRef: '1', networks: 'none' } }, V);
    assert.equal(res.status, 202, res.text);
    const id = str(res.body, 'server', 'id');
    await settled(id, 'ACTIVE');
    return id;
  };
  const actions = async (uuid: string) =>
    list((await t.call('GET', `/compute/v2.1/servers/${uuid}/os-instance-actions`, 'member-a', undefined, V)).body, 'instanceActions').map((a) => str(a, 'action'));

  it('a delete powers the server off and keeps it SOFT_DELETED, counted in quota; restore brings it back ACTIVE and running', async () => {
    const id = await create();
    const before = await used();
    assert.equal((await t.call('DELETE', `/compute/v2.1/servers/${id}`, 'member-a')).status, 204);
    const row = await settled(id, 'SOFT_DELETED');
    assert.equal(row.power_state, PowerState.SHUTDOWN);
    assert.ok(row.terminated_at !== null, 'the reclaim clock started');
    assert.equal(vm(id)?.powerState, PowerState.SHUTDOWN, 'the hypervisor powered it off');
    assert.equal(await used(), before, 'a soft-deleted server still counts against the quota');
    const listed = list((await t.call('GET', '/compute/v2.1/servers/detail', 'member-a', undefined, V)).body, 'servers').find((s) => str(s, 'id') === id);
    assert.equal(listed && str(listed, 'status'), 'SOFT_DELETED', 'it is listed, as in Nova');
    // A second delete changes nothing: the server stays restorable.
    assert.equal((await t.call('DELETE', `/compute/v2.1/servers/${id}`, 'member-a')).status, 204);
    assert.equal((await getInstance(t.h.db, id))?.task_state, null);

    assert.equal((await act(id, { restore: null })).status, 202);
    const back = await settled(id, 'ACTIVE');
    assert.equal(back.power_state, PowerState.RUNNING);
    assert.equal(back.terminated_at, null);
    assert.equal(vm(id)?.powerState, PowerState.RUNNING);
    assert.deepEqual((await actions(id)).slice(0, 3), ['restore', 'delete', 'create']);
    const again = await act(id, { restore: null });
    assert.equal(again.status, 409);
    assert.match(str(again.body, 'conflictingRequest', 'message'), /Cannot 'restore' instance .* while it is in vm_state active/);
    await act(id, { forceDelete: null });
    await cloud.waitFor('the server to go', async () => ((await getInstance(t.h.db, id)) === undefined ? true : undefined));
  });

  it('forceDelete deletes a SOFT_DELETED server now, VM included', async () => {
    const id = await create();
    await t.call('DELETE', `/compute/v2.1/servers/${id}`, 'member-a');
    await settled(id, 'SOFT_DELETED');
    const res = await act(id, { forceDelete: null });
    assert.equal(res.status, 202, res.text);
    await cloud.waitFor('the server to go', async () => ((await getInstance(t.h.db, id)) === undefined ? true : undefined));
    assert.equal(vm(id), undefined, 'its VM is destroyed');
    assert.equal((await t.call('GET', `/compute/v2.1/servers/${id}`, 'member-a', undefined, V)).status, 404);
  });

  it('its compute host deletes a server SOFT_DELETED longer than the interval, not a younger one', async () => {
    const [old, young] = [await create(), await create()];
    for (const id of [old, young]) await t.call('DELETE', `/compute/v2.1/servers/${id}`, 'member-a');
    await settled(old, 'SOFT_DELETED');
    await settled(young, 'SOFT_DELETED');
    await t.h.db.updateTable('instances').set({ terminated_at: new Date(Date.now() - 3601_000).toISOString() }).where('uuid', '=', old).execute();
    const agent = cloud.computes.get('cmp1')?.agent;
    assert.equal(await agent?.reclaimSoftDeleted(), 1);
    await cloud.waitFor('the old one to go', async () => ((await getInstance(t.h.db, old)) === undefined ? true : undefined));
    assert.equal(vm(old), undefined);
    assert.equal(await status(young), 'SOFT_DELETED');
    await act(young, { forceDelete: null });
    await cloud.waitFor('the young one to go', async () => ((await getInstance(t.h.db, young)) === undefined ? true : undefined));
  });

  it('an ERROR server is deleted at once; forceDelete on a server at work is a 409; a stranger gets 404', async () => {
    const id = await create();
    await t.h.db.updateTable('instances').set({ vm_state: 'error' }).where('uuid', '=', id).execute();
    await t.call('DELETE', `/compute/v2.1/servers/${id}`, 'member-a');
    await cloud.waitFor('the ERROR server to go', async () => ((await getInstance(t.h.db, id)) === undefined ? true : undefined));

    const busy = await create();
    // A task no agent picks up on its own (the agent would finish a reboot before the call).
    await t.h.db.updateTable('instances').set({ task_state: 'resize_migrating' }).where('uuid', '=', busy).execute();
    const res = await act(busy, { forceDelete: null });
    assert.equal(res.status, 409);
    assert.match(str(res.body, 'conflictingRequest', 'message'), /Cannot 'forceDelete' instance .* while it is in task_state resize_migrating/);
    await t.h.db.updateTable('instances').set({ task_state: null }).where('uuid', '=', busy).execute();
    assert.equal((await act(busy, { forceDelete: null }, 'member-b')).status, 404);
    assert.equal((await act(busy, { forceDelete: null })).status, 202);
    await cloud.waitFor('the server to go', async () => ((await getInstance(t.h.db, busy)) === undefined ? true : undefined));
  });
});
