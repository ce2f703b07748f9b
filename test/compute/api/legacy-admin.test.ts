import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { uptimeText } from '../../../src/compute/api/admin/hypervisor-routes.js';
import { insertInstances } from '../../../src/db/repos/instances.js';
import { IMAGE_ID, addComputeNode, at, instance, list, startHarness, str, type ComputeHarness } from './harness.js';

const V = (v: string) => ({ 'OpenStack-API-Version': `compute ${v}` });
const HOUR = 3_600_000;

describe('compute API: os-hosts, tenant usage, audit log, image proxy, extensions, uptime', () => {
  let t: ComputeHarness;
  let node = { serviceId: 0, nodeId: 0 };
  const base = Date.now() - 10 * HOUR;
  const iso = (ms: number) => new Date(ms).toISOString();
  before(async () => {
    t = await startHarness();
    node = await addComputeNode(t.h, { host: 'cmp1' });
    await addComputeNode(t.h, { host: 'ctl', binary: 'nova-scheduler' });
    // Two inserts: a multi-row insert gives columns one row leaves out NULL instead of their default.
    await insertInstances(t.h.db, [instance({ uuid: 'aaaaaaaa-0000-4000-8000-000000000001', display_name: 'live', launched_at: iso(base), created_at: iso(base) })]);
    await insertInstances(t.h.db, [
      instance({
        uuid: 'aaaaaaaa-0000-4000-8000-000000000002',
        display_name: 'gone',
        project_id: 'p-b',
        launched_at: iso(base),
        terminated_at: iso(base + 2 * HOUR),
        deleted: 1,
        vm_state: 'deleted',
        created_at: iso(base),
      }),
    ]);
  });
  after(async () => t.close());

  it('os-hosts lists services with topic and zone, shows a host\'s resources, and is gone at 2.43', async () => {
    assert.equal((await t.call('GET', '/compute/v2.1/os-hosts', 'member-a')).status, 403);
    const hosts = list((await t.call('GET', '/compute/v2.1/os-hosts', 'admin')).body, 'hosts');
    assert.deepEqual(hosts, [
      { host_name: 'cmp1', service: 'compute', zone: 'nova' },
      { host_name: 'ctl', service: 'scheduler', zone: 'internal' },
    ]);
    assert.equal(list((await t.call('GET', '/compute/v2.1/os-hosts?zone=internal', 'admin')).body, 'hosts').length, 1);
    assert.equal(list((await t.call('GET', '/compute/v2.1/os-hosts?zone=', 'admin')).body, 'hosts').length, 2);
    const shown = list((await t.call('GET', '/compute/v2.1/os-hosts/cmp1', 'admin')).body, 'host');
    assert.deepEqual(at(shown, 0, 'resource'), { host: 'cmp1', project: '(total)', cpu: 16, memory_mb: 32768, disk_gb: 500 });
    assert.deepEqual(at(shown, 2, 'resource'), { host: 'cmp1', project: '(used_max)', cpu: 1, memory_mb: 512, disk_gb: 1 });
    assert.equal(at(shown, 3, 'resource', 'project'), 'p-a');
    assert.equal((await t.call('GET', '/compute/v2.1/os-hosts/nowhere', 'admin')).status, 404);
    assert.equal((await t.call('GET', '/compute/v2.1/os-hosts', 'admin', undefined, V('2.43'))).status, 404);
    assert.equal((await t.call('PUT', '/compute/v2.1/os-hosts/cmp1', 'admin', { status: 'maybe' })).status, 400);
    assert.equal((await t.call('PUT', '/compute/v2.1/os-hosts/cmp1', 'admin', {})).status, 400);
    const off = await t.call('PUT', '/compute/v2.1/os-hosts/cmp1', 'admin', { status: 'disable' });
    assert.deepEqual(off.body, { host: 'cmp1', status: 'disabled' });
    assert.equal((await t.h.db.selectFrom('services').select('disabled').where('host', '=', 'cmp1').executeTakeFirstOrThrow()).disabled, 1);
    await t.call('PUT', '/compute/v2.1/os-hosts/cmp1', 'admin', { status: 'enable' });
    assert.equal((await t.call('GET', '/compute/v2.1/os-hosts/cmp1/reboot', 'admin')).status, 501);
    assert.equal((await t.call('GET', '/compute/v2.1/os-hosts/nowhere/reboot', 'admin')).status, 404);
  });

  it('simple tenant usage counts hours inside the period, deleted servers included', async () => {
    const start = iso(base + HOUR).replace('Z', '');
    const end = iso(base + 4 * HOUR).replace('Z', '');
    const all = await t.call('GET', `/compute/v2.1/os-simple-tenant-usage?start=${start}&end=${end}&detailed=1`, 'admin');
    assert.equal(all.status, 200);
    const usages = list(all.body, 'tenant_usages');
    assert.deepEqual(usages.map((u) => at(u, 'tenant_id')).sort(), ['p-a', 'p-b']);
    const b = usages.find((u) => at(u, 'tenant_id') === 'p-b');
    assert.equal(Math.round(Number(at(b, 'total_hours')) * 100) / 100, 1, 'the deleted server ran 1 hour of the period');
    assert.equal(at(b, 'server_usages', 0, 'state'), 'terminated');
    const mine = await t.call('GET', `/compute/v2.1/os-simple-tenant-usage/p-a?start=${start}&end=${end}`, 'member-a');
    const u = at(mine.body, 'tenant_usage');
    assert.equal(Object.keys(u as object).length, 8);
    assert.equal(Math.round(Number(at(u, 'total_vcpus_usage'))), 3);
    assert.equal(at(u, 'server_usages', 0, 'flavor'), 'm1.tiny');
    assert.equal((await t.call('GET', '/compute/v2.1/os-simple-tenant-usage/p-a', 'member-b')).status, 403);
    assert.equal((await t.call('GET', '/compute/v2.1/os-simple-tenant-usage', 'member-a')).status, 403);
    const backwards = await t.call('GET', `/compute/v2.1/os-simple-tenant-usage/p-a?start=${end}&end=${start}`, 'admin');
    assert.equal(backwards.status, 400);
    assert.match(str(backwards.body, 'badRequest', 'message'), /start time cannot occur after the end time/);
    assert.equal((await t.call('GET', '/compute/v2.1/os-simple-tenant-usage/p-a?start=yesterday', 'admin')).status, 400);
    const paged = await t.call('GET', `/compute/v2.1/os-simple-tenant-usage?start=${start}&end=${end}&limit=1`, 'admin', undefined, V('2.40'));
    assert.equal(list(paged.body, 'tenant_usages').length, 1);
    assert.match(str(paged.body, 'tenant_usages_links', 0, 'href'), /marker=aaaaaaaa-0000-4000-8000-000000000001/);
  });

  it('the usage audit log reports every compute host as not run; bad timestamps are 400', async () => {
    assert.equal((await t.call('GET', '/compute/v2.1/os-instance_usage_audit_log', 'member-a')).status, 403);
    const log = at((await t.call('GET', '/compute/v2.1/os-instance_usage_audit_log', 'admin')).body, 'instance_usage_audit_logs');
    assert.deepEqual(at(log, 'hosts_not_run'), ['cmp1']);
    assert.equal(at(log, 'overall_status'), '0 of 1 hosts done. 0 errors.');
    const show = await t.call('GET', '/compute/v2.1/os-instance_usage_audit_log/2020-03-15%2010:00:00', 'admin');
    assert.equal(at(show.body, 'instance_usage_audit_log', 'period_beginning'), '2020-02-01 00:00:00');
    assert.equal(at(show.body, 'instance_usage_audit_log', 'period_ending'), '2020-03-01 00:00:00');
    assert.equal((await t.call('GET', '/compute/v2.1/os-instance_usage_audit_log/not-a-time', 'admin')).status, 400);
  });

  it('the image proxy shows, lists, edits metadata and deletes images; 404 from 2.36', async () => {
    const img = at((await t.call('GET', `/compute/v2.1/images/${IMAGE_ID}`, 'member-a')).body, 'image');
    assert.equal(at(img, 'status'), 'ACTIVE');
    assert.equal(at(img, 'progress'), 100);
    assert.ok(list((await t.call('GET', '/compute/v2.1/images', 'member-a')).body, 'images').some((i) => at(i, 'id') === IMAGE_ID));
    assert.equal(list((await t.call('GET', '/compute/v2.1/images/detail?status=SAVING', 'member-a')).body, 'images').length, 0);
    assert.equal((await t.call('GET', `/compute/v2.1/images/${IMAGE_ID}`, 'member-a', undefined, V('2.36'))).status, 404);
    // The image belongs to p-admin: a member of another project may read, not write.
    assert.equal((await t.call('POST', `/compute/v2.1/images/${IMAGE_ID}/metadata`, 'member-a', { metadata: { a: '1' } })).status, 403);
    const set = await t.call('POST', `/compute/v2.1/images/${IMAGE_ID}/metadata`, 'admin', { metadata: { os_distro: 'debian' } });
    assert.equal(at(set.body, 'metadata', 'os_distro'), 'debian');
    assert.deepEqual((await t.call('GET', `/compute/v2.1/images/${IMAGE_ID}/metadata/os_distro`, 'member-a')).body, { meta: { os_distro: 'debian' } });
    assert.equal((await t.call('PUT', `/compute/v2.1/images/${IMAGE_ID}/metadata/os_distro`, 'admin', { meta: { other: 'x' } })).status, 400);
    assert.equal((await t.call('DELETE', `/compute/v2.1/images/${IMAGE_ID}/metadata/os_distro`, 'admin')).status, 204);
    assert.equal((await t.call('GET', `/compute/v2.1/images/${IMAGE_ID}/metadata/os_distro`, 'admin')).status, 404);
    assert.equal((await t.call('DELETE', `/compute/v2.1/images/${IMAGE_ID}`, 'member-a')).status, 403);
    assert.equal((await t.call('GET', '/compute/v2.1/images/00000000-0000-4000-8000-000000000000', 'admin')).status, 404);
  });

  it('lists and shows extensions', async () => {
    const exts = list((await t.call('GET', '/compute/v2.1/extensions', 'member-a')).body, 'extensions');
    assert.ok(exts.some((e) => at(e, 'name') === 'Hosts'));
    assert.equal(at((await t.call('GET', '/compute/v2.1/extensions/os-consoles', 'member-a')).body, 'extension', 'alias'), 'os-consoles');
    assert.equal((await t.call('GET', '/compute/v2.1/extensions/os-nothing', 'member-a')).status, 404);
  });

  it('hypervisor uptime comes from the reported boot time; 501 without one', async () => {
    const url = `/compute/v2.1/os-hypervisors/${node.nodeId}/uptime`;
    assert.equal((await t.call('GET', url, 'admin')).status, 501);
    await t.h.db.updateTable('compute_nodes').set({ boot_time: iso(Date.now() - 26 * HOUR - 5 * 60_000) }).where('id', '=', node.nodeId).execute();
    const res = await t.call('GET', url, 'admin');
    assert.equal(res.status, 200);
    assert.match(str(res.body, 'hypervisor', 'uptime'), /up 1 day, {2}2:0[45],/);
    assert.equal(uptimeText(null, new Date()), null);
    assert.match(uptimeText(iso(Date.now() - 7 * 60_000), new Date()) ?? '', /up 7 min,/);
  });
});
