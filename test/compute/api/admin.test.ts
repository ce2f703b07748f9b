import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { insertInstances } from '../../../src/db/repos/instances.js';
import { addComputeNode, at, instance, list, startHarness, str, type ComputeHarness } from './harness.js';

describe('compute API: hypervisors, services, availability zones, limits, quota sets', () => {
  let t: ComputeHarness;
  let cmp1 = { serviceId: 0, nodeId: 0 };
  before(async () => {
    t = await startHarness('[quota]\ninstances = 7\n');
    cmp1 = await addComputeNode(t.h, { host: 'cmp1' });
    await addComputeNode(t.h, { host: 'cmp2', zone: 'az2', lastSeen: '2020-01-01T00:00:00.000Z' });
    await addComputeNode(t.h, { host: 'ctl', binary: 'nova-scheduler' });
    await t.h.db.updateTable('compute_nodes').set({ vcpus_used: 3, memory_mb_used: 2048, local_gb_used: 20, running_vms: 2 }).where('id', '=', cmp1.nodeId).execute();
    await insertInstances(t.h.db, [
      instance({ display_name: 'one', flavor: JSON.stringify({ id: '2', vcpus: 2, memory_mb: 2048 }) }),
      instance({ display_name: 'two', task_state: 'powering-off' }),
    ]);
  });
  after(async () => t.close());

  it('lists hypervisors with state from heartbeats and status from the service (admin only)', async () => {
    assert.equal((await t.call('GET', '/compute/v2.1/os-hypervisors', 'member-a')).status, 403);
    const res = await t.call('GET', '/compute/v2.1/os-hypervisors', 'admin');
    assert.deepEqual(list(res.body, 'hypervisors'), [
      { id: cmp1.nodeId, hypervisor_hostname: 'cmp1-node', state: 'up', status: 'enabled' },
      { id: cmp1.nodeId + 1, hypervisor_hostname: 'cmp2-node', state: 'down', status: 'enabled' },
    ]);
    const show = await t.call('GET', `/compute/v2.1/os-hypervisors/${cmp1.nodeId}`, 'admin');
    const h = at(show.body, 'hypervisor');
    assert.equal(at(h, 'vcpus_used'), 3);
    assert.equal(at(h, 'free_ram_mb'), 32768 - 2048);
    assert.equal(at(h, 'free_disk_gb'), 480);
    assert.equal(at(h, 'current_workload'), 1);
    assert.equal(at(h, 'running_vms'), 2);
    assert.equal(at(h, 'hypervisor_type'), 'fake');
    assert.deepEqual(at(h, 'service'), { host: 'cmp1', id: cmp1.serviceId, disabled_reason: null });
    assert.equal((await t.call('GET', '/compute/v2.1/os-hypervisors/999', 'admin')).status, 404);
    assert.equal((await t.call('GET', '/compute/v2.1/os-hypervisors/abc', 'admin')).status, 404);
    const detail = await t.call('GET', '/compute/v2.1/os-hypervisors/detail', 'admin');
    assert.equal(list(detail.body, 'hypervisors').length, 2);
  });

  it('sums statistics over enabled nodes, searches by pattern and lists servers per node', async () => {
    const stats = at((await t.call('GET', '/compute/v2.1/os-hypervisors/statistics', 'admin')).body, 'hypervisor_statistics');
    assert.equal(at(stats, 'count'), 2);
    assert.equal(at(stats, 'vcpus'), 32);
    assert.equal(at(stats, 'vcpus_used'), 3);
    assert.equal(at(stats, 'memory_mb'), 65536);
    const found = await t.call('GET', '/compute/v2.1/os-hypervisors/cmp2/search', 'admin');
    assert.deepEqual(list(found.body, 'hypervisors').map((x) => at(x, 'hypervisor_hostname')), ['cmp2-node']);
    const none = await t.call('GET', '/compute/v2.1/os-hypervisors/zzz/search', 'admin');
    assert.equal(none.status, 404);
    assert.equal(at(none.body, 'itemNotFound', 'message'), "No hypervisor matching 'zzz' could be found.");
    const servers = await t.call('GET', '/compute/v2.1/os-hypervisors/cmp/servers', 'admin');
    assert.deepEqual(list(servers.body, 'hypervisors', 0, 'servers').map((s) => at(s, 'name')), ['one', 'two']);
    assert.equal(at(servers.body, 'hypervisors', 1, 'servers'), undefined);
  });

  it('lists services with zone, state and status; filters; enables and disables', async () => {
    assert.equal((await t.call('GET', '/compute/v2.1/os-services', 'member-a')).status, 403);
    const res = await t.call('GET', '/compute/v2.1/os-services', 'admin');
    const services = list(res.body, 'services').map((s) => [at(s, 'binary'), at(s, 'host'), at(s, 'zone'), at(s, 'state'), at(s, 'status')]);
    assert.deepEqual(services, [
      ['nova-compute', 'cmp1', 'nova', 'up', 'enabled'],
      ['nova-compute', 'cmp2', 'az2', 'down', 'enabled'],
      ['nova-scheduler', 'ctl', 'internal', 'up', 'enabled'],
    ]);
    assert.match(str(res.body, 'services', 0, 'updated_at'), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    const filtered = await t.call('GET', '/compute/v2.1/os-services?binary=nova-compute&host=cmp2', 'admin');
    assert.equal(list(filtered.body, 'services').length, 1);

    const off = await t.call('PUT', '/compute/v2.1/os-services/disable-log-reason', 'admin', { host: 'cmp1', binary: 'nova-compute', disabled_reason: 'maintenance' });
    assert.deepEqual(at(off.body, 'service'), { host: 'cmp1', binary: 'nova-compute', status: 'disabled', disabled_reason: 'maintenance' });
    const hv = await t.call('GET', '/compute/v2.1/os-hypervisors', 'admin');
    assert.equal(at(hv.body, 'hypervisors', 0, 'status'), 'disabled');
    const on = await t.call('PUT', '/compute/v2.1/os-services/enable', 'admin', { host: 'cmp1', binary: 'nova-compute' });
    assert.deepEqual(at(on.body, 'service'), { host: 'cmp1', binary: 'nova-compute', status: 'enabled' });
    assert.equal((await t.call('PUT', '/compute/v2.1/os-services/disable', 'admin', { host: 'nohost', binary: 'nova-compute' })).status, 404);
    assert.equal((await t.call('PUT', '/compute/v2.1/os-services/disable', 'admin', { host: 'cmp1' })).status, 400);
    assert.equal((await t.call('PUT', '/compute/v2.1/os-services/enable', 'member-a', { host: 'cmp1', binary: 'nova-compute' })).status, 403);
  });

  it('refuses to delete a compute service that hosts servers, deletes an idle one', async () => {
    const busy = await t.call('DELETE', `/compute/v2.1/os-services/${cmp1.serviceId}`, 'admin');
    assert.equal(busy.status, 409);
    const ctl = list((await t.call('GET', '/compute/v2.1/os-services?binary=nova-scheduler', 'admin')).body, 'services')[0];
    assert.equal((await t.call('DELETE', `/compute/v2.1/os-services/${str(ctl, 'id')}`, 'admin')).status, 204);
    assert.equal((await t.call('DELETE', '/compute/v2.1/os-services/9999', 'admin')).status, 404);
  });

  it('lists availability zones (members: compute zones; admins: detail with hosts)', async () => {
    const res = await t.call('GET', '/compute/v2.1/os-availability-zone', 'member-a');
    assert.deepEqual(at(res.body, 'availabilityZoneInfo'), [
      { zoneName: 'az2', zoneState: { available: true }, hosts: null },
      { zoneName: 'nova', zoneState: { available: true }, hosts: null },
    ]);
    assert.equal((await t.call('GET', '/compute/v2.1/os-availability-zone/detail', 'member-a')).status, 403);
    const detail = await t.call('GET', '/compute/v2.1/os-availability-zone/detail', 'admin');
    const nova = list(detail.body, 'availabilityZoneInfo').find((z) => at(z, 'zoneName') === 'nova');
    assert.equal(at(nova, 'hosts', 'cmp1', 'nova-compute', 'available'), true);
    assert.equal(at(nova, 'hosts', 'cmp1', 'nova-compute', 'active'), true);
  });

  it('reports limits and usage', async () => {
    const res = await t.call('GET', '/compute/v2.1/limits', 'member-a');
    const abs = at(res.body, 'limits', 'absolute');
    assert.deepEqual(at(res.body, 'limits', 'rate'), []);
    assert.equal(at(abs, 'maxTotalInstances'), 7);
    assert.equal(at(abs, 'maxTotalCores'), 20);
    assert.equal(at(abs, 'maxTotalRAMSize'), 51200);
    assert.equal(at(abs, 'maxServerMeta'), 128);
    assert.equal(at(abs, 'maxTotalKeypairs'), 100);
    assert.equal(at(abs, 'maxPersonality'), 5);
    assert.equal(at(abs, 'maxPersonalitySize'), 10240);
    assert.equal(at(abs, 'totalInstancesUsed'), 2);
    assert.equal(at(abs, 'totalCoresUsed'), 3);
    assert.equal(at(abs, 'totalRAMUsed'), 2560);
    const other = at((await t.call('GET', '/compute/v2.1/limits?tenant_id=p-a', 'member-b')).body, 'limits', 'absolute', 'totalInstancesUsed');
    assert.equal(other, 0, 'a member cannot read another project’s usage through tenant_id');
  });

  it('shows, updates, details and resets quota sets', async () => {
    const show = await t.call('GET', '/compute/v2.1/os-quota-sets/p-a', 'member-a');
    assert.equal(at(show.body, 'quota_set', 'id'), 'p-a');
    assert.equal(at(show.body, 'quota_set', 'instances'), 7);
    assert.equal(at(show.body, 'quota_set', 'floating_ips'), 10);
    assert.equal((await t.call('GET', '/compute/v2.1/os-quota-sets/p-b', 'member-a')).status, 403);
    assert.equal((await t.call('PUT', '/compute/v2.1/os-quota-sets/p-a', 'member-a', { quota_set: { instances: 50 } })).status, 403);
    const up = await t.call('PUT', '/compute/v2.1/os-quota-sets/p-a', 'admin', { quota_set: { instances: 50, cores: '40' } });
    assert.equal(up.status, 200, up.text);
    assert.equal(at(up.body, 'quota_set', 'instances'), 50);
    assert.equal(at(up.body, 'quota_set', 'cores'), 40);
    const below = await t.call('PUT', '/compute/v2.1/os-quota-sets/p-a', 'admin', { quota_set: { instances: 1 } });
    assert.equal(below.status, 400);
    assert.match(str(below.body, 'badRequest', 'message'), /must be greater than or equal to already used and reserved 2/);
    assert.equal((await t.call('PUT', '/compute/v2.1/os-quota-sets/p-a', 'admin', { quota_set: { instances: 1, force: true } })).status, 200);
    assert.equal((await t.call('PUT', '/compute/v2.1/os-quota-sets/p-a', 'admin', { quota_set: { bananas: 1 } })).status, 400);
    assert.equal((await t.call('PUT', '/compute/v2.1/os-quota-sets/p-a', 'admin', { quota_set: { instances: -2 } })).status, 400);
    const detail = await t.call('GET', '/compute/v2.1/os-quota-sets/p-a/detail', 'member-a');
    assert.deepEqual(at(detail.body, 'quota_set', 'instances'), { limit: 1, in_use: 2, reserved: 0 });
    const defaults = await t.call('GET', '/compute/v2.1/os-quota-sets/p-a/defaults', 'member-a');
    assert.equal(at(defaults.body, 'quota_set', 'instances'), 7);
    assert.equal((await t.call('DELETE', '/compute/v2.1/os-quota-sets/p-a', 'admin')).status, 202);
    assert.equal(at((await t.call('GET', '/compute/v2.1/os-quota-sets/p-a', 'member-a')).body, 'quota_set', 'instances'), 7);
  });
});
