import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { finishActionEvent, insertInstances, startActionEvent, startInstanceAction } from '../../../src/db/repos/instances.js';
import { IMAGE_ID, addComputeNode, at, instance, list, startHarness, str, type ComputeHarness, type Res } from './harness.js';

const ED25519 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGR6VMk/Po7XWpcWpYf8Xp6ep1yJy7e2RrR7m+6vD3Tz test';

/** What the microversions after 2.16 change, each checked at the version before and at the version. */
describe('compute API microversions 2.17-2.96', () => {
  let t: ComputeHarness;
  let uuid = '';
  let node = { serviceId: 0, nodeId: 0 };
  before(async () => {
    t = await startHarness();
    node = await addComputeNode(t.h, { host: 'cmp1' });
    const row = instance({
      hostname: 'vm-host',
      locked: 1,
      requested_availability_zone: 'nova',
      flavor: JSON.stringify({ id: '1', name: 'm1.tiny', vcpus: 1, memory_mb: 512, root_gb: 1, ephemeral_gb: 0, swap: 0, extra_specs: { 'hw:cpu_policy': 'shared' } }),
    });
    uuid = row.uuid ?? '';
    await insertInstances(t.h.db, [row]);
  });
  after(async () => t.close());

  const call = (v: string, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, token: string, body?: unknown): Promise<Res> =>
    t.call(method, `/compute/v2.1${url}`, token, body, { 'OpenStack-API-Version': `compute ${v}` });

  it('server view: 2.47 embedded flavor, 2.63 certificates, 2.71 groups on show, 2.73 lock reason, 2.90 hostname, 2.96 pinned zone', async () => {
    const old = at((await call('2.46', 'GET', `/servers/${uuid}`, 'member-a')).body, 'server');
    assert.equal(at(old, 'flavor', 'id'), '1');
    assert.equal(at(old, 'locked_reason'), undefined);
    assert.equal(at(old, 'OS-EXT-SRV-ATTR:hostname'), undefined);
    const s = at((await call('2.96', 'GET', `/servers/${uuid}`, 'member-a')).body, 'server');
    assert.deepEqual(at(s, 'flavor'), { vcpus: 1, ram: 512, disk: 1, ephemeral: 0, swap: 0, original_name: 'm1.tiny', extra_specs: { 'hw:cpu_policy': 'shared' } });
    assert.equal(at(s, 'trusted_image_certificates'), null);
    assert.deepEqual(at(s, 'server_groups'), []);
    assert.equal(at(s, 'locked_reason'), null);
    assert.equal(at(s, 'OS-EXT-SRV-ATTR:hostname'), 'vm-host');
    assert.equal(at(s, 'pinned_availability_zone'), 'nova');
    assert.deepEqual(at(s, 'tags'), []);
    const listed = at((await call('2.96', 'GET', '/servers/detail', 'member-a')).body, 'servers', 0);
    assert.equal(at(listed, 'server_groups'), undefined, 'lists leave server groups out');
  });

  it('2.73: lock takes a reason, shown until unlock; locked filters the list', async () => {
    await call('2.73', 'POST', `/servers/${uuid}/action`, 'member-a', { unlock: null });
    assert.equal((await call('2.72', 'POST', `/servers/${uuid}/action`, 'member-a', { lock: { locked_reason: 'x' } })).status, 400);
    assert.equal((await call('2.73', 'POST', `/servers/${uuid}/action`, 'member-a', { lock: { locked_reason: 'maintenance' } })).status, 202);
    assert.equal(at((await call('2.73', 'GET', `/servers/${uuid}`, 'member-a')).body, 'server', 'locked_reason'), 'maintenance');
    assert.equal(list((await call('2.73', 'GET', '/servers?locked=true', 'member-a')).body, 'servers').length, 1);
    assert.equal(list((await call('2.73', 'GET', '/servers?locked=false', 'member-a')).body, 'servers').length, 0);
    await call('2.73', 'POST', `/servers/${uuid}/action`, 'member-a', { unlock: null });
    assert.equal(at((await call('2.73', 'GET', `/servers/${uuid}`, 'member-a')).body, 'server', 'locked_reason'), null);
  });

  it('server list: 2.38 unknown status is 400; 2.83 members may filter on vm_state', async () => {
    assert.deepEqual(list((await call('2.37', 'GET', '/servers?status=WHATEVER', 'member-a')).body, 'servers'), []);
    const bad = await call('2.38', 'GET', '/servers?status=WHATEVER', 'member-a');
    assert.equal(bad.status, 400);
    assert.match(str(bad.body, 'badRequest', 'message'), /Invalid status value/);
    assert.equal(list((await call('2.82', 'GET', '/servers?vm_state=stopped', 'member-a')).body, 'servers').length, 1, 'ignored for members before 2.83');
    assert.equal(list((await call('2.83', 'GET', '/servers?vm_state=stopped', 'member-a')).body, 'servers').length, 0);
    assert.equal(list((await call('2.83', 'GET', '/servers?vm_state=active', 'member-a')).body, 'servers').length, 1);
    assert.equal((await call('2.74', 'GET', '/servers?bogus=1', 'member-a')).status, 200);
    const strict = await call('2.75', 'GET', '/servers?bogus=1', 'member-a');
    assert.equal(strict.status, 400);
    assert.match(str(strict.body, 'badRequest', 'message'), /'bogus' was unexpected/);
  });

  it('2.44: the nova-network proxy actions are gone (404); before, Polyvisor never had them (400)', async () => {
    assert.equal((await call('2.43', 'POST', `/servers/${uuid}/action`, 'member-a', { addFloatingIp: { address: '10.0.0.9' } })).status, 400);
    assert.equal((await call('2.44', 'POST', `/servers/${uuid}/action`, 'member-a', { addFloatingIp: { address: '10.0.0.9' } })).status, 404);
  });

  it('2.78: a server\'s topology has no NUMA nodes here; 404 before', async () => {
    assert.equal((await call('2.77', 'GET', `/servers/${uuid}/topology`, 'member-a')).status, 404);
    assert.deepEqual((await call('2.78', 'GET', `/servers/${uuid}/topology`, 'member-a')).body, { nodes: [], pagesize_kb: null });
    assert.equal((await call('2.78', 'GET', `/servers/${uuid}/topology`, 'member-b')).status, 404);
  });

  it('create: 2.37 needs networks; 2.57 drops personality; 2.74 host is admin-only and must exist; 2.90 hostname', async () => {
    const body = (extra: Record<string, unknown>) => ({ server: { name: 'n', imageRef: IMAGE_ID, flavorRef: '1', ...extra } });
    const noNet = await call('2.37', 'POST', '/servers', 'member-a', body({}));
    assert.equal(noNet.status, 400);
    assert.match(str(noNet.body, 'badRequest', 'message'), /'networks' is a required property/);
    assert.equal((await call('2.57', 'POST', '/servers', 'member-a', body({ networks: 'none', personality: [] }))).status, 400);
    assert.equal((await call('2.73', 'POST', '/servers', 'admin', body({ networks: 'none', host: 'cmp1' }))).status, 400);
    assert.equal((await call('2.74', 'POST', '/servers', 'member-a', body({ networks: 'none', host: 'cmp1' }))).status, 403);
    assert.equal((await call('2.74', 'POST', '/servers', 'admin', body({ networks: 'none', host: 'nowhere' }))).status, 400);
    const pinned = await call('2.74', 'POST', '/servers', 'admin', body({ networks: 'none', host: 'cmp1' }));
    assert.equal(pinned.status, 202, pinned.text);
    const row = await t.h.db.selectFrom('instances').select(['requested_host']).where('uuid', '=', str(pinned.body, 'server', 'id')).executeTakeFirstOrThrow();
    assert.equal(row.requested_host, 'cmp1');
    assert.equal((await call('2.89', 'POST', '/servers', 'member-a', body({ networks: 'none', hostname: 'web1' }))).status, 400);
    assert.equal((await call('2.90', 'POST', '/servers', 'member-a', body({ networks: 'none', hostname: 'web.example.com' }))).status, 400);
    const named = await call('2.94', 'POST', '/servers', 'member-a', body({ networks: 'none', hostname: 'web.example.com' }));
    assert.equal(named.status, 202, named.text);
    assert.equal(at((await call('2.94', 'GET', `/servers/${str(named.body, 'server', 'id')}`, 'member-a')).body, 'server', 'OS-EXT-SRV-ATTR:hostname'), 'web.example.com');
    assert.equal((await call('2.63', 'POST', '/servers', 'member-a', body({ networks: 'none', trusted_image_certificates: ['a'] }))).status, 400);
  });

  it('flavors: 2.55 description (and PUT), 2.61 extra_specs, 2.75 swap 0', async () => {
    assert.equal((await call('2.54', 'POST', '/flavors', 'admin', { flavor: { name: 'd1', ram: 64, vcpus: 1, disk: 1, description: 'x' } })).status, 400);
    const made = await call('2.55', 'POST', '/flavors', 'admin', { flavor: { name: 'd1', ram: 64, vcpus: 1, disk: 1, id: 'd1', description: 'small' } });
    assert.equal(at(made.body, 'flavor', 'description'), 'small');
    assert.equal((await call('2.54', 'PUT', '/flavors/d1', 'admin', { flavor: { description: 'y' } })).status, 404);
    assert.equal((await call('2.55', 'PUT', '/flavors/d1', 'member-a', { flavor: { description: 'y' } })).status, 403);
    assert.equal(at((await call('2.55', 'PUT', '/flavors/d1', 'admin', { flavor: { description: 'tiny' } })).body, 'flavor', 'description'), 'tiny');
    await call('2.61', 'POST', '/flavors/d1/os-extra_specs', 'admin', { extra_specs: { 'foo:bar': 'baz' } });
    const shown = at((await call('2.75', 'GET', '/flavors/d1', 'member-a')).body, 'flavor');
    assert.deepEqual(at(shown, 'extra_specs'), { 'foo:bar': 'baz' });
    assert.equal(at(shown, 'swap'), 0);
    assert.equal(at((await call('2.74', 'GET', '/flavors/d1', 'member-a')).body, 'flavor', 'swap'), '');
    assert.equal(at((await call('2.60', 'GET', '/flavors/d1', 'member-a')).body, 'flavor', 'extra_specs'), undefined);
    assert.ok(list((await call('2.55', 'GET', '/flavors', 'member-a')).body, 'flavors').some((f) => at(f, 'description') === 'tiny'));
  });

  it('keypairs: 2.35 pages by name; 2.92 imports only and allows @ and . in names', async () => {
    for (const name of ['ka', 'kb', 'kc']) await call('2.35', 'POST', '/os-keypairs', 'member-b', { keypair: { name, public_key: ED25519 } });
    const page = await call('2.35', 'GET', '/os-keypairs?limit=2', 'member-b');
    assert.deepEqual(list(page.body, 'keypairs').map((k) => at(k, 'keypair', 'name')), ['ka', 'kb']);
    assert.match(str(page.body, 'keypairs_links', 0, 'href'), /marker=kb/);
    assert.deepEqual(list((await call('2.35', 'GET', '/os-keypairs?marker=kb', 'member-b')).body, 'keypairs').map((k) => at(k, 'keypair', 'name')), ['kc']);
    assert.equal((await call('2.35', 'GET', '/os-keypairs?marker=zz', 'member-b')).status, 400);
    assert.equal((await call('2.92', 'POST', '/os-keypairs', 'member-b', { keypair: { name: 'gen' } })).status, 400);
    assert.equal((await call('2.91', 'POST', '/os-keypairs', 'member-b', { keypair: { name: 'a@b.c', public_key: ED25519 } })).status, 400);
    assert.equal((await call('2.92', 'POST', '/os-keypairs', 'member-b', { keypair: { name: 'a@b.c', public_key: ED25519 } })).status, 201);
  });

  it('hypervisors: 2.28 cpu_info object, 2.53 uuids and query forms, 2.88 fewer fields and uptime in show', async () => {
    assert.equal(typeof at((await call('2.27', 'GET', `/os-hypervisors/${node.nodeId}`, 'admin')).body, 'hypervisor', 'cpu_info'), 'string');
    assert.deepEqual(at((await call('2.28', 'GET', `/os-hypervisors/${node.nodeId}`, 'admin')).body, 'hypervisor', 'cpu_info'), {});
    const hv = at((await call('2.53', 'GET', '/os-hypervisors?with_servers=true', 'admin')).body, 'hypervisors', 0);
    const id = str(hv, 'id');
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.equal(list(hv, 'servers').length, 1);
    assert.equal((await call('2.53', 'GET', '/os-hypervisors/cmp/search', 'admin')).status, 404);
    assert.equal((await call('2.53', 'GET', `/os-hypervisors/${node.nodeId}`, 'admin')).status, 400);
    assert.equal(list((await call('2.53', 'GET', '/os-hypervisors?hypervisor_hostname_pattern=cmp', 'admin')).body, 'hypervisors').length, 1);
    const v88 = at((await call('2.88', 'GET', `/os-hypervisors/${id}`, 'admin')).body, 'hypervisor');
    assert.equal(at(v88, 'vcpus'), undefined);
    assert.equal(at(v88, 'uptime'), null);
    assert.equal((await call('2.88', 'GET', '/os-hypervisors/statistics', 'admin')).status, 404);
    assert.equal((await call('2.88', 'GET', `/os-hypervisors/${id}/uptime`, 'admin')).status, 404);
    assert.equal((await call('2.33', 'GET', '/os-hypervisors?limit=0', 'admin')).status, 200);
  });

  it('services: 2.53 uuid ids and PUT /os-services/{uuid}; the old PUT forms are gone', async () => {
    const svc = at((await call('2.53', 'GET', '/os-services', 'admin')).body, 'services', 0);
    const id = str(svc, 'id');
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.equal((await call('2.53', 'PUT', '/os-services/disable', 'admin', { host: 'cmp1', binary: 'nova-compute' })).status, 404);
    assert.equal((await call('2.53', 'PUT', `/os-services/${id}`, 'admin', {})).status, 400);
    assert.equal((await call('2.53', 'PUT', `/os-services/${id}`, 'admin', { status: 'enabled', disabled_reason: 'x' })).status, 400);
    const off = await call('2.53', 'PUT', `/os-services/${id}`, 'admin', { status: 'disabled', disabled_reason: 'maintenance' });
    assert.equal(at(off.body, 'service', 'status'), 'disabled');
    assert.equal(at(off.body, 'service', 'disabled_reason'), 'maintenance');
    await call('2.53', 'PUT', `/os-services/${id}`, 'admin', { status: 'enabled' });
  });

  it('instance actions: 2.51 events for members, 2.58 paging and updated_at, 2.62 hostId/host, 2.84 details', async () => {
    for (const rid of ['req-1', 'req-2']) {
      const action = await startInstanceAction(t.h.db, { instanceUuid: uuid, action: 'stop', requestId: rid, userId: 'u-a', projectId: 'p-a' });
      const ev = await startActionEvent(t.h.db, action, 'compute_stop_instance', 'cmp1');
      await finishActionEvent(t.h.db, ev, 'Error', 'boom');
    }
    assert.equal(at((await call('2.50', 'GET', `/servers/${uuid}/os-instance-actions/req-1`, 'member-a')).body, 'instanceAction', 'events'), undefined);
    const ev = at((await call('2.84', 'GET', `/servers/${uuid}/os-instance-actions/req-1`, 'member-a')).body, 'instanceAction', 'events', 0);
    assert.equal(at(ev, 'traceback'), undefined);
    assert.equal(at(ev, 'host'), undefined);
    assert.match(str(ev, 'hostId'), /^[0-9a-f]{56}$/);
    assert.equal(at(ev, 'details'), 'boom');
    assert.equal(at((await call('2.62', 'GET', `/servers/${uuid}/os-instance-actions/req-1`, 'admin')).body, 'instanceAction', 'events', 0, 'host'), 'cmp1');
    const page = await call('2.58', 'GET', `/servers/${uuid}/os-instance-actions?limit=1`, 'member-a');
    assert.equal(list(page.body, 'instanceActions').length, 1);
    assert.ok(typeof at(page.body, 'instanceActions', 0, 'updated_at') === 'string');
    assert.equal((await call('2.58', 'GET', `/servers/${uuid}/os-instance-actions?marker=nope`, 'member-a')).status, 400);
  });
});
