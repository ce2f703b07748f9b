import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { insertInstances } from '../../../src/db/repos/instances.js';
import { addComputeNode, at, instance, list, startHarness, str, type ComputeHarness } from './harness.js';

const AGG = '/compute/v2.1/os-aggregates';

describe('compute API: host aggregates and the availability zones they make', () => {
  let t: ComputeHarness;
  before(async () => {
    t = await startHarness();
    await addComputeNode(t.h, { host: 'cmp1' });
    await addComputeNode(t.h, { host: 'cmp2' });
    await addComputeNode(t.h, { host: 'busy' });
    await addComputeNode(t.h, { host: 'ctl', binary: 'nova-scheduler' });
    await insertInstances(t.h.db, [instance({ host: 'busy', node: 'busy-node' })]);
  });
  after(async () => t.close());

  const zoneOfNode = async (node: string) =>
    (await t.h.db.selectFrom('compute_nodes').select('availability_zone').where('hypervisor_hostname', '=', node).executeTakeFirstOrThrow()).availability_zone;
  const zoneNames = async () => list((await t.call('GET', '/compute/v2.1/os-availability-zone', 'member-a')).body, 'availabilityZoneInfo').map((z) => at(z, 'zoneName'));
  const create = async (name: string, zone?: string) => {
    const res = await t.call('POST', AGG, 'admin', { aggregate: { name, ...(zone === undefined ? {} : { availability_zone: zone }) } });
    assert.equal(res.status, 200, res.text);
    return Number(at(res.body, 'aggregate', 'id'));
  };

  it('is admin only', async () => {
    assert.equal((await t.call('GET', AGG, 'member-a')).status, 403);
    assert.equal((await t.call('POST', AGG, 'member-a', { aggregate: { name: 'x' } })).status, 403);
    assert.equal(list((await t.call('GET', AGG, 'admin')).body, 'aggregates').length, 0);
  });

  it('creates with Nova\'s create view, refuses a duplicate name (409) and bad bodies (400)', async () => {
    const res = await t.call('POST', AGG, 'admin', { aggregate: { name: 'agg1', availability_zone: 'az1' } });
    assert.equal(res.status, 200);
    const a = at(res.body, 'aggregate');
    assert.deepEqual(Object.keys(a as object).sort(), ['availability_zone', 'created_at', 'deleted', 'deleted_at', 'id', 'name', 'updated_at']);
    assert.equal(at(a, 'availability_zone'), 'az1');
    assert.equal(at(a, 'deleted'), false);
    assert.equal(at(a, 'updated_at'), null);
    assert.match(str(a, 'created_at'), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    const dup = await t.call('POST', AGG, 'admin', { aggregate: { name: 'agg1' } });
    assert.equal(dup.status, 409);
    assert.equal(at(dup.body, 'conflictingRequest', 'message'), 'Aggregate agg1 already exists.');
    for (const bad of [{}, { aggregate: {} }, { aggregate: { name: 'x', extra: 1 } }, { aggregate: { name: ' x' } }, { aggregate: { name: 'y', availability_zone: 'a:b' } }, { aggregate: { name: 5 } }]) {
      const r = await t.call('POST', AGG, 'admin', bad);
      assert.equal(r.status, 400, JSON.stringify(bad));
      assert.ok(at(r.body, 'badRequest', 'message'));
    }
    assert.deepEqual(list((await t.call('GET', AGG, 'admin')).body, 'aggregates').map((x) => at(x, 'name')), ['agg1']);
  });

  it('adds a host: the host and its nodes move to the zone, schedulers are told, the zone is listed', async () => {
    const id = Number(at(list((await t.call('GET', AGG, 'admin')).body, 'aggregates')[0], 'id'));
    assert.deepEqual(await zoneNames(), ['nova']);
    t.notes.length = 0;
    const res = await t.call('POST', `${AGG}/${id}/action`, 'admin', { add_host: { host: 'cmp1' } });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(at(res.body, 'aggregate', 'hosts'), ['cmp1']);
    assert.deepEqual(at(res.body, 'aggregate', 'metadata'), { availability_zone: 'az1' });
    assert.equal(await zoneOfNode('cmp1-node'), 'az1');
    assert.equal(await zoneOfNode('cmp2-node'), null);
    await new Promise<void>((resolve) => queueMicrotask(resolve));
    assert.deepEqual(t.notes, [{ channel: 'nodes', payload: 'cmp1-node' }]);
    assert.deepEqual(await zoneNames(), ['az1', 'nova']);
    const services = list((await t.call('GET', '/compute/v2.1/os-services', 'admin')).body, 'services');
    assert.deepEqual(services.map((s) => [at(s, 'host'), at(s, 'zone')]), [['cmp1', 'az1'], ['cmp2', 'nova'], ['busy', 'nova'], ['ctl', 'internal']]);
    // Servers may now ask for az1.
    const server = await t.call('POST', '/compute/v2.1/servers', 'member-a', { server: { name: 'z', imageRef: '11111111-1111-4111-8111-111111111111', flavorRef: '1', availability_zone: 'az1' } });
    assert.equal(server.status, 202, server.text);
  });

  it('refuses hosts that are unknown, already members, or would be in two zones', async () => {
    const id1 = Number(at(list((await t.call('GET', AGG, 'admin')).body, 'aggregates')[0], 'id'));
    const unknown = await t.call('POST', `${AGG}/${id1}/action`, 'admin', { add_host: { host: 'nohost' } });
    assert.equal(unknown.status, 404);
    assert.equal(at(unknown.body, 'itemNotFound', 'message'), 'Compute host nohost could not be found.');
    assert.equal((await t.call('POST', `${AGG}/${id1}/action`, 'admin', { add_host: { host: 'ctl' } })).status, 404);
    const again = await t.call('POST', `${AGG}/${id1}/action`, 'admin', { add_host: { host: 'cmp1' } });
    assert.equal(again.status, 409);
    assert.equal(at(again.body, 'conflictingRequest', 'message'), `Aggregate ${id1} already has host cmp1.`);
    const id2 = await create('agg2', 'az2');
    const conflict = await t.call('POST', `${AGG}/${id2}/action`, 'admin', { add_host: { host: 'cmp1' } });
    assert.equal(conflict.status, 409);
    assert.equal(at(conflict.body, 'conflictingRequest', 'message'), `Cannot add host to aggregate ${id2}. Reason: One or more hosts already in availability zone(s) ['az1'].`);
    // An aggregate without a zone (or with the same zone) may share the host.
    const plain = await create('plain');
    assert.equal((await t.call('POST', `${AGG}/${plain}/action`, 'admin', { add_host: { host: 'cmp1' } })).status, 200);
    assert.equal(await zoneOfNode('cmp1-node'), 'az1');
    const same = await create('agg1b', 'az1');
    assert.equal((await t.call('POST', `${AGG}/${same}/action`, 'admin', { add_host: { host: 'cmp1' } })).status, 200);
    assert.equal((await t.call('POST', `${AGG}/${id2}/action`, 'admin', { add_host: { host: 'nohost!' } })).status, 400);
    assert.equal((await t.call('POST', `${AGG}/${id2}/action`, 'admin', { add_host: { host: 'cmp2' }, remove_host: { host: 'cmp2' } })).status, 400);
    assert.equal((await t.call('POST', `${AGG}/${id2}/action`, 'admin', { frobnicate: {} })).status, 400);
    assert.equal((await t.call('POST', `${AGG}/999/action`, 'admin', { add_host: { host: 'cmp2' } })).status, 404);
    // A negative id is an integer naming nothing (Nova: 404); a non-integer is 400.
    assert.equal((await t.call('GET', `${AGG}/-1`, 'admin')).status, 404);
    assert.equal((await t.call('DELETE', `${AGG}/-1`, 'admin')).status, 404);
    assert.equal((await t.call('GET', `${AGG}/abc`, 'admin')).status, 400);
  });

  it('sets metadata (null removes a key) and refuses an empty zone or a zone change under instances', async () => {
    const id = await create('meta', 'azm');
    const set = await t.call('POST', `${AGG}/${id}/action`, 'admin', { set_metadata: { metadata: { ssd: 'true', gpu: '1' } } });
    assert.equal(set.status, 200);
    assert.deepEqual(at(set.body, 'aggregate', 'metadata'), { availability_zone: 'azm', gpu: '1', ssd: 'true' });
    assert.notEqual(at(set.body, 'aggregate', 'updated_at'), null);
    const unset = await t.call('POST', `${AGG}/${id}/action`, 'admin', { set_metadata: { metadata: { gpu: null } } });
    assert.deepEqual(at(unset.body, 'aggregate', 'metadata'), { availability_zone: 'azm', ssd: 'true' });
    const empty = await t.call('POST', `${AGG}/${id}/action`, 'admin', { set_metadata: { metadata: { availability_zone: null } } });
    assert.equal(empty.status, 400);
    assert.match(str(empty.body, 'badRequest', 'message'), /^Cannot update metadata of aggregate \d+\. Reason: .*empty named availability zone\.$/);
    assert.equal((await t.call('POST', `${AGG}/${id}/action`, 'admin', { set_metadata: { metadata: { 'bad/key': 'x' } } })).status, 400);
    assert.equal((await t.call('POST', `${AGG}/${id}/action`, 'admin', { add_host: { host: 'busy' } })).status, 200);
    assert.equal(await zoneOfNode('busy-node'), 'azm');
    const moved = await t.call('POST', `${AGG}/${id}/action`, 'admin', { set_metadata: { metadata: { availability_zone: 'other' } } });
    assert.equal(moved.status, 400);
    assert.equal(at(moved.body, 'badRequest', 'message'), `Cannot update metadata of aggregate ${id}. Reason: One or more hosts contain instances in this zone.`);
    const renamedZone = await t.call('PUT', `${AGG}/${id}`, 'admin', { aggregate: { availability_zone: 'other' } });
    assert.equal(renamedZone.status, 400);
    assert.equal(await zoneOfNode('busy-node'), 'azm');
    assert.equal(at((await t.call('GET', `${AGG}/${id}`, 'admin')).body, 'aggregate', 'availability_zone'), 'azm');
  });

  it('shows, renames and re-zones; ids must be integers', async () => {
    const id = await create('rename-me', 'azr');
    assert.equal((await t.call('POST', `${AGG}/${id}/action`, 'admin', { add_host: { host: 'cmp2' } })).status, 200);
    const show = await t.call('GET', `${AGG}/${id}`, 'admin');
    assert.deepEqual(Object.keys(at(show.body, 'aggregate') as object).sort(), ['availability_zone', 'created_at', 'deleted', 'deleted_at', 'hosts', 'id', 'metadata', 'name', 'updated_at']);
    assert.equal((await t.call('GET', `${AGG}/abc`, 'admin')).status, 400);
    assert.equal((await t.call('GET', `${AGG}/999`, 'admin')).status, 404);
    assert.equal((await t.call('PUT', `${AGG}/${id}`, 'admin', { aggregate: {} })).status, 400);
    assert.equal((await t.call('PUT', `${AGG}/${id}`, 'admin', { aggregate: { name: 'agg1' } })).status, 409);
    t.notes.length = 0;
    const upd = await t.call('PUT', `${AGG}/${id}`, 'admin', { aggregate: { name: ' renamed ', availability_zone: 'azr2' } });
    assert.equal(upd.status, 200, upd.text);
    assert.equal(at(upd.body, 'aggregate', 'name'), 'renamed');
    assert.equal(at(upd.body, 'aggregate', 'availability_zone'), 'azr2');
    assert.equal(await zoneOfNode('cmp2-node'), 'azr2');
    await new Promise<void>((resolve) => queueMicrotask(resolve));
    assert.deepEqual(t.notes, [{ channel: 'nodes', payload: 'cmp2-node' }]);
  });

  it('removes hosts (back to the default zone) and deletes only empty aggregates', async () => {
    const all = list((await t.call('GET', AGG, 'admin')).body, 'aggregates');
    const renamed = Number(at(all.find((a) => at(a, 'name') === 'renamed'), 'id'));
    const notEmpty = await t.call('DELETE', `${AGG}/${renamed}`, 'admin');
    assert.equal(notEmpty.status, 400);
    assert.equal(at(notEmpty.body, 'badRequest', 'message'), `Cannot remove aggregate ${renamed}. Reason: Host aggregate is not empty.`);
    const absent = await t.call('POST', `${AGG}/${renamed}/action`, 'admin', { remove_host: { host: 'cmp1' } });
    assert.equal(absent.status, 404);
    assert.equal(at(absent.body, 'itemNotFound', 'message'), `Cannot remove host cmp1 in aggregate ${renamed}`);
    const removed = await t.call('POST', `${AGG}/${renamed}/action`, 'admin', { remove_host: { host: 'cmp2' } });
    assert.equal(removed.status, 200);
    assert.deepEqual(at(removed.body, 'aggregate', 'hosts'), []);
    assert.equal(await zoneOfNode('cmp2-node'), 'nova');
    const del = await t.call('DELETE', `${AGG}/${renamed}`, 'admin');
    assert.equal(del.status, 200);
    assert.equal(del.text, '');
    assert.equal((await t.call('GET', `${AGG}/${renamed}`, 'admin')).status, 404);
    assert.equal((await t.call('DELETE', `${AGG}/${renamed}`, 'admin')).status, 404);
  });

  it('takes a deleted compute service out of its aggregates, as Nova does', async () => {
    const gone = await addComputeNode(t.h, { host: 'gone' });
    const id = await create('with-gone', 'azg');
    assert.equal((await t.call('POST', `${AGG}/${id}/action`, 'admin', { add_host: { host: 'gone' } })).status, 200);
    assert.equal((await t.call('DELETE', `/compute/v2.1/os-services/${gone.serviceId}`, 'admin')).status, 204);
    assert.deepEqual(at((await t.call('GET', `${AGG}/${id}`, 'admin')).body, 'aggregate', 'hosts'), []);
    assert.equal((await t.call('DELETE', `${AGG}/${id}`, 'admin')).status, 200);
  });

  it('answers the hypervisor uptime request the CLI makes with 501, as Nova does without driver support', async () => {
    const hv = list((await t.call('GET', '/compute/v2.1/os-hypervisors', 'admin')).body, 'hypervisors');
    const res = await t.call('GET', `/compute/v2.1/os-hypervisors/${str(hv[0], 'id')}/uptime`, 'admin');
    assert.equal(res.status, 501);
    assert.equal(at(res.body, 'notImplemented', 'code'), 501);
    assert.equal((await t.call('GET', '/compute/v2.1/os-hypervisors/999/uptime', 'admin')).status, 404);
  });
});
