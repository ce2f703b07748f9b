import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { insertInstances, addInstanceFault } from '../../../src/db/repos/instances.js';
import { at, instance, list, PUBLIC_URL, startHarness, str, type ComputeHarness } from './harness.js';

describe('compute API: server list, show, update', () => {
  let t: ComputeHarness;
  const ids: string[] = [];
  before(async () => {
    t = await startHarness('[api]\nmax_limit = 4\n');
    const rows = Array.from({ length: 6 }, (_, i) =>
      instance({
        uuid: `00000000-0000-4000-8000-00000000000${i}`,
        display_name: i % 2 === 0 ? `web-${i}` : `db-${i}`,
        created_at: `2026-01-01T00:00:0${i}.000Z`,
        updated_at: `2026-01-01T00:00:0${i}.000Z`,
        vm_state: i === 5 ? 'stopped' : 'active',
        power_state: i === 5 ? 4 : 1,
      }),
    );
    rows.push(instance({ uuid: 'bbbbbbbb-0000-4000-8000-000000000000', project_id: 'p-b', user_id: 'u-b', display_name: 'theirs' }));
    rows.push(instance({ uuid: 'eeeeeeee-0000-4000-8000-000000000000', display_name: 'broken', vm_state: 'error', host: null, node: null }));
    await insertInstances(t.h.db, rows);
    await t.h.db.insertInto('instance_metadata').values({ instance_uuid: rows[0]?.uuid ?? '', key: 'k', value: 'v' }).execute();
    await addInstanceFault(t.h.db, { instanceUuid: 'eeeeeeee-0000-4000-8000-000000000000', code: 500, message: 'No valid host was found.', details: 'Traceback: secret' });
    ids.push(...rows.map((r) => r.uuid));
  });
  after(async () => t.close());

  it('lists the project’s servers newest first, paged by max_limit with a next link that continues', async () => {
    const first = await t.call('GET', '/compute/v2.1/servers', 'member-a');
    assert.equal(first.status, 200);
    const names = list(first.body, 'servers').map((s) => at(s, 'name'));
    assert.deepEqual(names, ['broken', 'db-5', 'web-4', 'db-3']);
    const next = str(first.body, 'servers_links', 0, 'href');
    assert.ok(next.startsWith(`${PUBLIC_URL}/compute/v2.1/servers?`), next);
    const page2 = await t.call('GET', next.slice(PUBLIC_URL.length), 'member-a');
    const all = [...names, ...list(page2.body, 'servers').map((s) => at(s, 'name'))];
    assert.equal(new Set(all).size, 7, 'seven servers of project a over two pages, none twice');
    assert.equal(at(page2.body, 'servers_links'), undefined);
  });

  it('filters by name regex, status, and sorts by name ascending', async () => {
    const web = await t.call('GET', '/compute/v2.1/servers?name=^web-&sort_key=display_name&sort_dir=asc', 'member-a');
    assert.deepEqual(list(web.body, 'servers').map((s) => at(s, 'name')), ['web-0', 'web-2', 'web-4']);
    const plain = await t.call('GET', '/compute/v2.1/servers?name=db', 'member-a');
    assert.equal(list(plain.body, 'servers').length, 3);
    const off = await t.call('GET', '/compute/v2.1/servers/detail?status=SHUTOFF', 'member-a');
    assert.deepEqual(list(off.body, 'servers').map((s) => at(s, 'status')), ['SHUTOFF']);
    const unknown = await t.call('GET', '/compute/v2.1/servers?status=NOPE', 'member-a');
    assert.deepEqual(list(unknown.body, 'servers'), []);
    const bad = await t.call('GET', '/compute/v2.1/servers?sort_key=bogus', 'member-a');
    assert.equal(bad.status, 400);
    assert.equal((await t.call('GET', '/compute/v2.1/servers?sort_key=host', 'member-a')).status, 403);
    assert.equal((await t.call('GET', '/compute/v2.1/servers?limit=-1', 'member-a')).status, 400);
    assert.equal((await t.call('GET', '/compute/v2.1/servers?marker=nope', 'member-a')).status, 400);
  });

  it('pages with a marker under a custom sort without skipping or repeating', async () => {
    const seen: string[] = [];
    let url = '/compute/v2.1/servers?limit=3&sort_key=display_name&sort_dir=desc';
    for (let i = 0; i < 5 && url; i++) {
      const r = await t.call('GET', url, 'member-a');
      seen.push(...list(r.body, 'servers').map((s) => str(s, 'name')));
      const href = at(r.body, 'servers_links', 0, 'href');
      url = typeof href === 'string' ? href.slice(PUBLIC_URL.length) : '';
    }
    assert.deepEqual(seen, ['web-4', 'web-2', 'web-0', 'db-5', 'db-3', 'db-1', 'broken']);
  });

  it('lets admins see every project with all_tenants and filter by project and host', async () => {
    const own = await t.call('GET', '/compute/v2.1/servers?limit=100', 'admin');
    assert.deepEqual(list(own.body, 'servers'), []);
    const all = await t.call('GET', '/compute/v2.1/servers?all_tenants=1&limit=100', 'admin');
    assert.equal(list(all.body, 'servers').length, 4, 'max_limit caps the page');
    const b = await t.call('GET', '/compute/v2.1/servers?all_tenants=True&tenant_id=p-b', 'admin');
    assert.deepEqual(list(b.body, 'servers').map((s) => at(s, 'name')), ['theirs']);
    const memberTries = await t.call('GET', '/compute/v2.1/servers?all_tenants=1', 'member-a');
    assert.ok(!list(memberTries.body, 'servers').some((s) => at(s, 'name') === 'theirs'), 'all_tenants is ignored for members');
  });

  it('shows Nova’s detail view; admin-only attributes and fault details only for admins', async () => {
    const res = await t.call('GET', `/compute/v2.1/servers/${ids[0] ?? ''}`, 'member-a');
    assert.equal(res.status, 200);
    const s = at(res.body, 'server');
    assert.equal(at(s, 'status'), 'ACTIVE');
    assert.equal(at(s, 'tenant_id'), 'p-a');
    assert.deepEqual(at(s, 'metadata'), { k: 'v' });
    assert.match(str(s, 'hostId'), /^[0-9a-f]{56}$/);
    assert.equal(at(s, 'flavor', 'id'), '1');
    assert.equal(at(s, 'image', 'links', 0, 'href'), `${PUBLIC_URL}/compute/images/11111111-1111-4111-8111-111111111111`);
    assert.equal(at(s, 'created'), '2026-01-01T00:00:00Z');
    assert.deepEqual(at(s, 'addresses'), {});
    assert.equal(at(s, 'OS-EXT-STS:vm_state'), 'active');
    assert.equal(at(s, 'OS-EXT-STS:power_state'), 1);
    assert.equal(at(s, 'OS-EXT-AZ:availability_zone'), 'nova');
    assert.deepEqual(at(s, 'os-extended-volumes:volumes_attached'), []);
    assert.equal(at(s, 'progress'), 0);
    assert.equal(at(s, 'OS-EXT-SRV-ATTR:host'), undefined);
    const asAdmin = await t.call('GET', `/compute/v2.1/servers/${ids[0] ?? ''}`, 'admin');
    assert.equal(at(asAdmin.body, 'server', 'OS-EXT-SRV-ATTR:host'), 'cmp1');
    assert.equal(at(asAdmin.body, 'server', 'OS-EXT-SRV-ATTR:hypervisor_hostname'), 'cmp1-node');
    assert.equal(at(asAdmin.body, 'server', 'OS-EXT-SRV-ATTR:instance_name'), 'instance-00000000');

    const broken = await t.call('GET', '/compute/v2.1/servers/eeeeeeee-0000-4000-8000-000000000000', 'member-a');
    assert.equal(at(broken.body, 'server', 'status'), 'ERROR');
    assert.equal(at(broken.body, 'server', 'fault', 'message'), 'No valid host was found.');
    assert.equal(at(broken.body, 'server', 'fault', 'code'), 500);
    assert.equal(at(broken.body, 'server', 'fault', 'details'), undefined, 'a 500 fault’s details are for admins');
    const brokenAdmin = await t.call('GET', '/compute/v2.1/servers/eeeeeeee-0000-4000-8000-000000000000', 'admin');
    assert.equal(at(brokenAdmin.body, 'server', 'fault', 'details'), 'Traceback: secret');
  });

  it('hides other projects’ servers behind 404', async () => {
    const res = await t.call('GET', '/compute/v2.1/servers/bbbbbbbb-0000-4000-8000-000000000000', 'member-a');
    assert.equal(res.status, 404);
    assert.equal(at(res.body, 'itemNotFound', 'message'), 'Instance bbbbbbbb-0000-4000-8000-000000000000 could not be found.');
    assert.equal((await t.call('PUT', '/compute/v2.1/servers/bbbbbbbb-0000-4000-8000-000000000000', 'member-a', { server: { name: 'x' } })).status, 404);
  });

  it('updates name and access addresses; refuses unknown fields and readers', async () => {
    const id = ids[1] ?? '';
    const res = await t.call('PUT', `/compute/v2.1/servers/${id}`, 'member-a', { server: { name: 'renamed', accessIPv4: '192.0.2.5' } });
    assert.equal(res.status, 200, res.text);
    assert.equal(at(res.body, 'server', 'name'), 'renamed');
    assert.equal(at(res.body, 'server', 'accessIPv4'), '192.0.2.5');
    assert.equal((await t.call('PUT', `/compute/v2.1/servers/${id}`, 'member-a', { server: { flavor: '2' } })).status, 400);
    assert.equal((await t.call('PUT', `/compute/v2.1/servers/${id}`, 'member-a', { server: { accessIPv4: 'nope' } })).status, 400);
    assert.equal((await t.call('PUT', `/compute/v2.1/servers/${id}`, 'reader-a', { server: { name: 'r' } })).status, 403);
    assert.equal((await t.call('GET', `/compute/v2.1/servers/${id}`, 'reader-a')).status, 200, 'readers read');
  });
});
