import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { finishActionEvent, insertInstances, startActionEvent } from '../../../src/db/repos/instances.js';
import { addComputeNode, at, instance, list, startHarness, str, type ComputeHarness } from './harness.js';

describe('compute API: server actions, delete, metadata, instance actions', () => {
  let t: ComputeHarness;
  let nodeId = 0;
  before(async () => {
    t = await startHarness();
    nodeId = (await addComputeNode(t.h, { host: 'cmp1' })).nodeId;
  });
  after(async () => t.close());
  beforeEach(() => {
    t.notes.length = 0;
  });

  const make = async (o: Parameters<typeof instance>[0] = {}) => {
    const row = instance(o);
    await insertInstances(t.h.db, [row]);
    return row.uuid;
  };
  const row = async (uuid: string) => t.h.db.selectFrom('instances').selectAll().where('uuid', '=', uuid).executeTakeFirstOrThrow();
  const act = (uuid: string, body: unknown, token = 'member-a') => t.call('POST', `/compute/v2.1/servers/${uuid}/action`, token, body);
  const settle = () => new Promise((r) => setImmediate(r));

  const transitions: [string, unknown, string, string][] = [
    ['os-stop', null, 'active', 'powering-off'],
    ['os-start', null, 'stopped', 'powering-on'],
    ['reboot', { type: 'SOFT' }, 'active', 'rebooting'],
    ['reboot', { type: 'HARD' }, 'stopped', 'rebooting_hard'],
    ['suspend', null, 'active', 'suspending'],
    ['resume', null, 'suspended', 'resuming'],
    ['pause', {}, 'active', 'pausing'],
    ['unpause', null, 'paused', 'unpausing'],
  ];
  for (const [action, arg, from, task] of transitions) {
    it(`${action} ${JSON.stringify(arg)} from ${from} sets task_state ${task}, records the action and wakes the host`, async () => {
      const uuid = await make({ vm_state: from });
      const res = await act(uuid, { [action]: arg });
      assert.equal(res.status, 202, res.text);
      assert.equal((await row(uuid)).task_state, task);
      const actions = await t.call('GET', `/compute/v2.1/servers/${uuid}/os-instance-actions`, 'member-a');
      const expected = action.replace(/^os-/, '');
      assert.equal(at(actions.body, 'instanceActions', 0, 'action'), expected);
      await settle();
      assert.deepEqual(t.notes, [{ channel: 'instances', payload: 'cmp1' }]);
    });
  }

  it('answers Nova’s 409 for a wrong vm_state or a task in progress, changing nothing', async () => {
    const stopped = await make({ vm_state: 'stopped' });
    const res = await act(stopped, { 'os-stop': null });
    assert.equal(res.status, 409);
    assert.equal(at(res.body, 'conflictingRequest', 'message'), `Cannot 'stop' instance ${stopped} while it is in vm_state stopped`);
    const busy = await make({ vm_state: 'active', task_state: 'powering-off' });
    const again = await act(busy, { 'os-stop': null });
    assert.equal(again.status, 409);
    assert.equal(at(again.body, 'conflictingRequest', 'message'), `Cannot 'stop' instance ${busy} while it is in task_state powering-off`);
    const building = await make({ vm_state: 'building', task_state: 'scheduling', host: null });
    assert.equal((await act(building, { pause: null })).status, 409);
    assert.equal((await row(busy)).task_state, 'powering-off');
    const hardDuringSoft = await make({ vm_state: 'active', task_state: 'rebooting' });
    assert.equal((await act(hardDuringSoft, { reboot: { type: 'HARD' } })).status, 202, 'a hard reboot may interrupt a soft one');
    await settle();
  });

  it('answers restore with Nova’s 409: no server is ever soft-deleted', async () => {
    const uuid = await make();
    const res = await act(uuid, { restore: {} });
    assert.equal(res.status, 409, res.text);
    assert.equal(at(res.body, 'conflictingRequest', 'message'), `Cannot 'restore' instance ${uuid} while it is in vm_state active`);
    assert.equal((await act('00000000-0000-4000-8000-00000000dead', { restore: null })).status, 404);
    assert.equal((await row(uuid)).vm_state, 'active');
  });

  it('lets exactly one of concurrent stops win', async () => {
    const uuid = await make();
    const results = await Promise.all(Array.from({ length: 8 }, () => act(uuid, { 'os-stop': null })));
    assert.equal(results.filter((r) => r.status === 202).length, 1);
    assert.equal(results.filter((r) => r.status === 409).length, 7);
    await settle();
  });

  it('validates action bodies', async () => {
    const uuid = await make();
    const cases: [unknown, RegExp][] = [
      [{ reboot: {} }, /'type' is a required property/],
      [{ reboot: { type: 'MEDIUM' } }, /is not one of/],
      [{ explode: null }, /There is no such action: explode/],
      [{ 'os-stop': null, 'os-start': null }, /exactly one action/],
      [{ pause: { now: true } }, /takes no arguments/],
    ];
    for (const [body, message] of cases) {
      const res = await act(uuid, body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.match(str(res.body, 'badRequest', 'message'), message);
    }
    assert.equal((await row(uuid)).task_state, null);
  });

  it('isolates projects and roles: 404 for another project, 403 for readers', async () => {
    const uuid = await make();
    assert.equal((await act(uuid, { 'os-stop': null }, 'member-b')).status, 404);
    assert.equal((await t.call('DELETE', `/compute/v2.1/servers/${uuid}`, 'member-b')).status, 404);
    assert.equal((await t.call('GET', `/compute/v2.1/servers/${uuid}/metadata`, 'member-b')).status, 404);
    assert.equal((await t.call('GET', `/compute/v2.1/servers/${uuid}/os-instance-actions`, 'member-b')).status, 404);
    assert.equal((await act(uuid, { 'os-stop': null }, 'reader-a')).status, 403);
    assert.equal((await t.call('DELETE', `/compute/v2.1/servers/${uuid}`, 'reader-a')).status, 403);
    assert.equal((await row(uuid)).task_state, null);
    assert.equal((await act(uuid, { 'os-stop': null }, 'admin')).status, 202, 'admins act on any project');
  });

  it('locks: members cannot act on a locked server, admins can; unlock restores', async () => {
    const uuid = await make();
    assert.equal((await act(uuid, { lock: null })).status, 202);
    const refused = await act(uuid, { pause: null });
    assert.equal(refused.status, 409);
    assert.equal(at(refused.body, 'conflictingRequest', 'message'), `Instance ${uuid} is locked`);
    assert.equal((await t.call('DELETE', `/compute/v2.1/servers/${uuid}`, 'member-a')).status, 409);
    assert.equal((await act(uuid, { unlock: null })).status, 202);
    assert.equal((await act(uuid, { pause: null })).status, 202);
    await settle();
  });

  it('deletes an unplaced server at once and gives back a claimed allocation', async () => {
    const uuid = await make({ vm_state: 'building', task_state: 'scheduling', host: null, node: null });
    await t.h.db.insertInto('allocations').values({ instance_uuid: uuid, node_id: nodeId, vcpus: 2, memory_mb: 1024, disk_gb: 10, created_at: '2026-01-01T00:00:00Z' }).execute();
    await t.h.db.updateTable('compute_nodes').set({ vcpus_used: 2, memory_mb_used: 1024, local_gb_used: 10 }).where('id', '=', nodeId).execute();
    const res = await t.call('DELETE', `/compute/v2.1/servers/${uuid}`, 'member-a');
    assert.equal(res.status, 204);
    const r = await row(uuid);
    assert.equal(r.deleted, 1);
    assert.equal(r.vm_state, 'deleted');
    assert.equal(r.task_state, null);
    assert.ok(r.terminated_at !== null && r.deleted_at !== null);
    assert.equal((await t.h.db.selectFrom('allocations').selectAll().where('instance_uuid', '=', uuid).execute()).length, 0);
    const node = await t.h.db.selectFrom('compute_nodes').selectAll().where('id', '=', nodeId).executeTakeFirstOrThrow();
    assert.deepEqual([node.vcpus_used, node.memory_mb_used, node.local_gb_used], [0, 0, 0]);
    assert.equal((await t.call('GET', `/compute/v2.1/servers/${uuid}`, 'member-a')).status, 404);
    // Before microversion 2.21 the action log goes with the server, as in Nova.
    assert.equal((await t.call('GET', `/compute/v2.1/servers/${uuid}/os-instance-actions`, 'member-a')).status, 404);
  });

  it('asks the agent to delete a placed server, even mid-build, and ignores a repeated delete', async () => {
    const uuid = await make({ vm_state: 'building', task_state: 'spawning' });
    assert.equal((await t.call('DELETE', `/compute/v2.1/servers/${uuid}`, 'member-a')).status, 204);
    assert.equal((await row(uuid)).task_state, 'deleting');
    assert.equal((await t.call('DELETE', `/compute/v2.1/servers/${uuid}`, 'member-a')).status, 204);
    await settle();
    assert.deepEqual(t.notes, [{ channel: 'instances', payload: 'cmp1' }]);
    const show = await t.call('GET', `/compute/v2.1/servers/${uuid}`, 'member-a');
    assert.equal(at(show.body, 'server', 'OS-EXT-STS:task_state'), 'deleting');
  });

  it('serves server metadata: read, merge, replace, one item, delete', async () => {
    const uuid = await make();
    const base = `/compute/v2.1/servers/${uuid}/metadata`;
    assert.deepEqual(at((await t.call('GET', base, 'member-a')).body, 'metadata'), {});
    assert.deepEqual(at((await t.call('POST', base, 'member-a', { metadata: { a: '1', b: '2' } })).body, 'metadata'), { a: '1', b: '2' });
    assert.deepEqual(at((await t.call('POST', base, 'member-a', { metadata: { b: '3' } })).body, 'metadata'), { a: '1', b: '3' });
    assert.deepEqual(at((await t.call('PUT', base, 'member-a', { metadata: { c: '4' } })).body, 'metadata'), { c: '4' });
    assert.deepEqual(at((await t.call('GET', `${base}/c`, 'member-a')).body, 'meta'), { c: '4' });
    assert.deepEqual(at((await t.call('PUT', `${base}/d`, 'member-a', { meta: { d: '5' } })).body, 'meta'), { d: '5' });
    const mismatch = await t.call('PUT', `${base}/d`, 'member-a', { meta: { e: '5' } });
    assert.equal(mismatch.status, 400);
    assert.match(str(mismatch.body, 'badRequest', 'message'), /URI mismatch/);
    assert.equal((await t.call('PUT', `${base}/d`, 'member-a', { meta: { d: 5 } })).status, 400);
    assert.equal((await t.call('DELETE', `${base}/c`, 'member-a')).status, 204);
    assert.equal((await t.call('GET', `${base}/c`, 'member-a')).status, 404);
    assert.equal((await t.call('DELETE', `${base}/c`, 'member-a')).status, 404);
    assert.equal((await t.call('POST', base, 'reader-a', { metadata: { x: '1' } })).status, 403);
    const building = await make({ vm_state: 'building', task_state: 'spawning' });
    const refused = await t.call('POST', `/compute/v2.1/servers/${building}/metadata`, 'member-a', { metadata: { x: '1' } });
    assert.equal(refused.status, 409);
    assert.match(str(refused.body, 'conflictingRequest', 'message'), /Cannot 'update metadata' instance .* vm_state building/);
  });

  it('shows an instance action with its events to admins only', async () => {
    const uuid = await make();
    const res = await act(uuid, { 'os-stop': null });
    const requestId = String(res.headers['x-openstack-request-id']);
    const a = await t.h.db.selectFrom('instance_actions').selectAll().where('request_id', '=', requestId).executeTakeFirstOrThrow();
    const ev = await startActionEvent(t.h.db, a.id, 'compute_stop_instance', 'cmp1');
    await finishActionEvent(t.h.db, ev, 'Success');
    const member = await t.call('GET', `/compute/v2.1/servers/${uuid}/os-instance-actions/${requestId}`, 'member-a');
    assert.equal(member.status, 200);
    assert.equal(at(member.body, 'instanceAction', 'action'), 'stop');
    assert.equal(at(member.body, 'instanceAction', 'request_id'), requestId);
    assert.match(str(member.body, 'instanceAction', 'start_time'), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    assert.equal(at(member.body, 'instanceAction', 'events'), undefined);
    const admin = await t.call('GET', `/compute/v2.1/servers/${uuid}/os-instance-actions/${requestId}`, 'admin');
    assert.deepEqual(list(admin.body, 'instanceAction', 'events').map((e) => [at(e, 'event'), at(e, 'result')]), [['compute_stop_instance', 'Success']]);
    assert.equal((await t.call('GET', `/compute/v2.1/servers/${uuid}/os-instance-actions/req-nope`, 'member-a')).status, 404);
    await settle();
  });
});
