import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { addComputeNode, addImage, at, list, PUBLIC_URL, SERVER, startHarness, str, type ComputeHarness } from './harness.js';

describe('compute API: server create', () => {
  let t: ComputeHarness;
  before(async () => {
    t = await startHarness();
    await addComputeNode(t.h, { host: 'cmp1' });
    await addComputeNode(t.h, { host: 'cmp2', zone: 'az2' });
  });
  after(async () => t.close());

  const count = async () => Number((await t.h.db.selectFrom('instances').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);

  it('creates a server in BUILD/scheduling, answers 202 with Nova’s body and Location, and wakes the scheduler', async () => {
    t.notes.length = 0;
    const res = await t.call('POST', '/compute/v2.1/servers', 'member-a', SERVER({ metadata: { role: 'web' }, key_name: undefined }));
    assert.equal(res.status, 202, res.text);
    const id = str(res.body, 'server', 'id');
    assert.equal(typeof id, 'string');
    assert.equal(res.headers['location'], `${PUBLIC_URL}/compute/v2.1/servers/${String(id)}`);
    assert.equal(typeof at(res.body, 'server', 'adminPass'), 'string');
    assert.equal(at(res.body, 'server', 'OS-DCF:diskConfig'), 'MANUAL');
    assert.deepEqual(at(res.body, 'server', 'security_groups'), [{ name: 'default' }]);
    assert.equal(at(res.body, 'server', 'links', 1, 'href'), `${PUBLIC_URL}/compute/servers/${String(id)}`);

    const row = await t.h.db.selectFrom('instances').selectAll().where('uuid', '=', String(id)).executeTakeFirstOrThrow();
    assert.equal(row.vm_state, 'building');
    assert.equal(row.task_state, 'scheduling');
    assert.equal(row.power_state, 0);
    assert.equal(row.host, null);
    assert.match(row.reservation_id, /^r-[a-z0-9]{8}$/);
    assert.equal(row.hostname, 'web');
    assert.deepEqual(JSON.parse(row.flavor), { id: '1', name: 'm1.tiny', vcpus: 1, memory_mb: 512, root_gb: 1, ephemeral_gb: 0, swap: 0, extra_specs: {} });
    assert.equal(row.networks, '"auto"');
    const actions = await t.h.db.selectFrom('instance_actions').selectAll().where('instance_uuid', '=', row.uuid).execute();
    assert.deepEqual(actions.map((a) => a.action), ['create']);
    assert.match(actions[0]?.request_id ?? '', /^req-/);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(t.notes, [{ channel: 'scheduler', payload: row.uuid }]);

    const show = await t.call('GET', `/compute/v2.1/servers/${String(id)}`, 'member-a');
    assert.equal(at(show.body, 'server', 'status'), 'BUILD');
    assert.deepEqual(at(show.body, 'server', 'metadata'), { role: 'web' });
  });

  it('names multiple servers <name>-<n>, returns the reservation id when asked, and derives hostnames as Nova does', async () => {
    const res = await t.call('POST', '/compute/v2.1/servers', 'member-a', SERVER({ name: 'My Web_Server.1', min_count: 2, max_count: 3, return_reservation_id: true }));
    assert.equal(res.status, 202, res.text);
    const rid = str(res.body, 'reservation_id');
    assert.match(String(rid), /^r-/);
    const rows = await t.h.db.selectFrom('instances').selectAll().where('reservation_id', '=', String(rid)).orderBy('launch_index').execute();
    assert.deepEqual(rows.map((r) => r.display_name), ['My Web_Server.1-1', 'My Web_Server.1-2', 'My Web_Server.1-3']);
    assert.deepEqual(rows.map((r) => r.hostname), ['my-web-server-1-1', 'my-web-server-1-2', 'my-web-server-1-3']);
    assert.deepEqual(rows.map((r) => r.launch_index), [0, 1, 2]);
  });

  it('accepts networks none/auto/list, a valid availability zone, user_data and an existing key', async () => {
    const key = await t.call('POST', '/compute/v2.1/os-keypairs', 'member-a', { keypair: { name: 'k1' } });
    assert.equal(key.status, 200, key.text);
    const res = await t.call(
      'POST',
      '/compute/v2.1/servers',
      'member-a',
      SERVER({ networks: 'none', availability_zone: 'az2', user_data: Buffer.from('#!/bin/sh\necho hi').toString('base64'), key_name: 'k1', config_drive: true }),
    );
    assert.equal(res.status, 202, res.text);
    const row = await t.h.db.selectFrom('instances').selectAll().where('uuid', '=', str(res.body, 'server', 'id')).executeTakeFirstOrThrow();
    assert.equal(row.networks, '"none"');
    assert.equal(row.requested_availability_zone, 'az2');
    assert.equal(row.key_name, 'k1');
    assert.match(row.key_data ?? '', /^ssh-rsa /);
    assert.equal(row.config_drive, 'True');
    // A network id is a configured VLAN network id, any string (the driver resolves it).
    const withList = await t.call('POST', '/compute/v2.1/servers', 'member-a', SERVER({ networks: [{ uuid: 'net-1' }], security_groups: [{ name: 'default' }] }));
    assert.equal(withList.status, 202, withList.text);
  });

  it('lets an admin force a host with zone:host, and refuses that to members and for unknown hosts', async () => {
    const ok = await t.call('POST', '/compute/v2.1/servers', 'admin', SERVER({ availability_zone: 'nova:cmp1' }));
    assert.equal(ok.status, 202, ok.text);
    const row = await t.h.db.selectFrom('instances').selectAll().where('uuid', '=', str(ok.body, 'server', 'id')).executeTakeFirstOrThrow();
    assert.equal(row.requested_host, 'cmp1');
    assert.equal(row.requested_availability_zone, 'nova');
    assert.equal((await t.call('POST', '/compute/v2.1/servers', 'member-a', SERVER({ availability_zone: 'nova:cmp1' }))).status, 403);
    const unknown = await t.call('POST', '/compute/v2.1/servers', 'admin', SERVER({ availability_zone: 'nova:nohost' }));
    assert.equal(unknown.status, 400);
    assert.match(str(unknown.body, 'badRequest', 'message'), /Compute host nohost could not be found/);
  });

  const bad: [string, unknown, number, RegExp][] = [
    ['malformed JSON', '{"server": {', 400, /Malformed|JSON/i],
    ['an unknown field', SERVER({ colour: 'blue' }), 400, /Additional properties are not allowed \('colour' was unexpected\)/],
    ['a wrongly typed field', SERVER({ min_count: true }), 400, /min_count/],
    ['a missing name', { server: { imageRef: 'x', flavorRef: '1' } }, 400, /'name' is a required property/],
    ['an empty name', SERVER({ name: '' }), 400, /name/],
    ['a name with leading whitespace', SERVER({ name: ' web' }), 400, /Can not start or end with whitespace/],
    ['a missing flavor', SERVER({ flavorRef: '999' }), 400, /Flavor 999 could not be found\./],
    ['a missing image', SERVER({ imageRef: '22222222-2222-4222-8222-222222222222' }), 400, /Image 22222222-2222-4222-8222-222222222222 could not be found\./],
    ['no image', { server: { name: 'x', flavorRef: '1' } }, 400, /Missing imageRef attribute/],
    ['an unknown key', SERVER({ key_name: 'nope' }), 400, /Invalid key_name provided\./],
    ['user_data that is not base64', SERVER({ user_data: 'not base64!' }), 400, /User data needs to be valid base 64\./],
    ['an unknown availability zone', SERVER({ availability_zone: 'moon' }), 400, /The requested availability zone is not available/],
    ['min_count above max_count', SERVER({ min_count: 3, max_count: 2 }), 400, /min_count must be <= max_count/],
    ['an invalid networks value', SERVER({ networks: 'all' }), 400, /networks/],
    ['a security group other than default', SERVER({ security_groups: [{ name: 'default' }, { name: 'does_not_exist' }] }), 400, /^Security group does_not_exist not found\.$/],
  ];
  for (const [what, body, status, message] of bad) {
    it(`refuses ${what} with ${status} and creates nothing`, async () => {
      const before = await count();
      const res = await t.call('POST', '/compute/v2.1/servers', 'member-a', body);
      assert.equal(res.status, status, res.text);
      assert.match(str(res.body, 'badRequest', 'message'), message);
      assert.equal(await count(), before);
    });
  }

  it('refuses a 10 MB name with 413 and creates nothing', async () => {
    const before = await count();
    const res = await t.call('POST', '/compute/v2.1/servers', 'member-a', SERVER({ name: 'x'.repeat(10 * 1024 * 1024) }));
    assert.equal(res.status, 413);
    assert.equal(at(res.body, 'overLimit', 'code'), 413);
    assert.equal(await count(), before);
  });

  it('refuses private flavors without access, disabled flavors and inactive or private images', async () => {
    const flavor = await t.call('POST', '/compute/v2.1/flavors', 'admin', { flavor: { name: 'secret', ram: 256, vcpus: 1, disk: 1, id: 'secret', 'os-flavor-access:is_public': false } });
    assert.equal(flavor.status, 200, flavor.text);
    const hidden = await t.call('POST', '/compute/v2.1/servers', 'member-a', SERVER({ flavorRef: 'secret' }));
    assert.equal(hidden.status, 400);
    assert.match(str(hidden.body, 'badRequest', 'message'), /Flavor secret could not be found\./);
    await t.call('POST', '/compute/v2.1/flavors/secret/action', 'admin', { addTenantAccess: { tenant: 'p-a' } });
    assert.equal((await t.call('POST', '/compute/v2.1/servers', 'member-a', SERVER({ flavorRef: `${PUBLIC_URL}/compute/flavors/secret` }))).status, 202);

    await t.h.db.updateTable('flavors').set({ disabled: 1 }).where('flavorid', '=', 'secret').execute();
    const disabled = await t.call('POST', '/compute/v2.1/servers', 'member-a', SERVER({ flavorRef: 'secret' }));
    assert.match(str(disabled.body, 'badRequest', 'message'), /Flavor is disabled\./);

    await addImage(t.h, '33333333-3333-4333-8333-333333333333', { status: 'queued' });
    const queued = await t.call('POST', '/compute/v2.1/servers', 'member-a', SERVER({ imageRef: '33333333-3333-4333-8333-333333333333' }));
    assert.match(str(queued.body, 'badRequest', 'message'), /is not active/);
    await addImage(t.h, '44444444-4444-4444-8444-444444444444', { visibility: 'private', owner: 'p-b' });
    const other = await t.call('POST', '/compute/v2.1/servers', 'member-a', SERVER({ imageRef: '44444444-4444-4444-8444-444444444444' }));
    assert.match(str(other.body, 'badRequest', 'message'), /could not be found/);
    await addImage(t.h, '55555555-5555-4555-8555-555555555555', { minRam: 4096 });
    const small = await t.call('POST', '/compute/v2.1/servers', 'member-a', SERVER({ imageRef: '55555555-5555-4555-8555-555555555555' }));
    assert.match(str(small.body, 'badRequest', 'message'), /memory is too small/);
  });

  it('forbids readers and unauthenticated callers', async () => {
    const reader = await t.call('POST', '/compute/v2.1/servers', 'reader-a', SERVER());
    assert.equal(reader.status, 403);
    assert.equal(at(reader.body, 'forbidden', 'code'), 403);
    assert.equal((await t.call('POST', '/compute/v2.1/servers', null, SERVER())).status, 401);
    assert.equal((await t.call('POST', '/compute/v2.1/servers', 'bogus', SERVER())).status, 401);
  });

  it('serves the same routes under /v2.1/{project_id} with project links', async () => {
    const res = await t.call('GET', '/compute/v2.1/p-a/flavors', 'member-a');
    assert.equal(res.status, 200);
    assert.equal(at(res.body, 'flavors', 0, 'links', 0, 'href'), `${PUBLIC_URL}/compute/v2.1/p-a/flavors/1`);
    assert.ok(list(res.body, 'flavors').length >= 5);
  });
});

describe('compute API: create quotas', () => {
  let t: ComputeHarness;
  before(async () => {
    t = await startHarness('[quota]\ninstances = 3\ncores = 4\nmetadata_items = 2\n');
    await addComputeNode(t.h, { host: 'cmp1' });
  });
  after(async () => t.close());

  it('refuses metadata beyond metadata_items with 403', async () => {
    const res = await t.call('POST', '/compute/v2.1/servers', 'member-a', SERVER({ metadata: { a: '1', b: '2', c: '3' } }));
    assert.equal(res.status, 403);
    assert.match(str(res.body, 'forbidden', 'message'), /metadata items exceeds 2/);
  });

  it('creates up to the instances quota, then answers Nova’s quota message; min/max_count shrink to what fits', async () => {
    assert.equal((await t.call('POST', '/compute/v2.1/servers', 'member-a', SERVER())).status, 202);
    const some = await t.call('POST', '/compute/v2.1/servers', 'member-a', SERVER({ min_count: 1, max_count: 5, return_reservation_id: true }));
    assert.equal(some.status, 202, some.text);
    const made = await t.h.db.selectFrom('instances').select('uuid').where('reservation_id', '=', str(some.body, 'reservation_id')).execute();
    assert.equal(made.length, 2, 'only two more fit the instances quota of 3');
    const over = await t.call('POST', '/compute/v2.1/servers', 'member-a', SERVER());
    assert.equal(over.status, 403);
    assert.equal(at(over.body, 'forbidden', 'message'), 'Quota exceeded for instances: Requested 1, but already used 3 of 3 instances');
    const other = await t.call('POST', '/compute/v2.1/servers', 'member-b', SERVER({ flavorRef: '4' }));
    assert.equal(other.status, 202, 'another project has its own quota (4 cores fit)');
    const cores = await t.call('POST', '/compute/v2.1/servers', 'member-b', SERVER({ flavorRef: '1' }));
    assert.equal(cores.status, 403);
    assert.equal(at(cores.body, 'forbidden', 'message'), 'Quota exceeded for cores: Requested 1, but already used 4 of 4 cores');
  });

  it('never exceeds the quota under concurrent creates', async () => {
    await t.call('PUT', '/compute/v2.1/os-quota-sets/p-admin', 'admin', { quota_set: { instances: 5, cores: -1, ram: -1 } });
    const results = await Promise.all(Array.from({ length: 12 }, () => t.call('POST', '/compute/v2.1/servers', 'admin', SERVER())));
    assert.equal(results.filter((r) => r.status === 202).length, 5);
    assert.equal(results.filter((r) => r.status === 403).length, 7);
    const n = await t.h.db.selectFrom('instances').select('uuid').where('project_id', '=', 'p-admin').execute();
    assert.equal(n.length, 5);
  });
});
