import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { MAX_VERSION } from '../../../src/compute/api/microversion.js';
import { latestMigration } from '../../../src/db/repos/migrations.js';
import { createComputeAgent } from '../../../src/compute/agent/index.js';
import { setServiceStatus } from '../../../src/db/repos/services.js';
import { silentLogger } from '../../../src/log.js';
import { getInstance } from '../../../src/db/repos/instances.js';
import { TestCloud } from '../agent/harness.js';
import { addImage, at, IMAGE_ID, list, startHarness, str, type ComputeHarness, type Json } from './harness.js';

/**
 * Rebuild, resize (confirm / revert), cold and live migration and evacuation end to end:
 * the Compute API, the scheduler and two compute hosts with fake hypervisors on one
 * SQLite database. Each test starts from a server the API created and the agents built.
 */
const IMAGE_2 = '22222222-2222-4222-8222-222222222222';

describe('compute API: rebuild, resize, migrations, evacuate (two fake hosts)', () => {
  let t: ComputeHarness;
  let cloud: TestCloud;
  before(async () => {
    t = await startHarness('[DEFAULT]\nreserved_host_memory_mb = 0\n');
    await addImage(t.h, IMAGE_2, { visibility: 'public', owner: 'p-admin' });
    cloud = new TestCloud(t.h);
    cloud.images.ids.add(IMAGE_ID);
    cloud.images.ids.add(IMAGE_2);
    // A resize waiting an hour in VERIFY_RESIZE is confirmed by its destination's agent.
    await cloud.addCompute('cmp1', '[DEFAULT]\nresize_confirm_window = 3600');
    await cloud.addCompute('cmp2', '[DEFAULT]\nresize_confirm_window = 3600');
    await cloud.addScheduler('sched');
  });
  after(async () => {
    await cloud.stop();
    await t.close();
  });

  const V = { 'OpenStack-API-Version': 'compute 2.16' };
  const act = (uuid: string, body: unknown, token = 'member-a') => t.call('POST', `/compute/v2.1/servers/${uuid}/action`, token, body, V);
  const show = async (uuid: string, token = 'admin') => (await t.call('GET', `/compute/v2.1/servers/${uuid}`, token, undefined, V)).body;
  const status = async (uuid: string) => str(await show(uuid), 'server', 'status');
  const waitStatus = (uuid: string, want: string) =>
    cloud.waitFor(`server ${uuid} to be ${want}`, async () => {
      const s = await status(uuid);
      if (s === 'ERROR' && want !== 'ERROR') throw new Error(`server ${uuid} went to ERROR: ${JSON.stringify(at(await show(uuid), 'server', 'fault'))}`);
      return s === want ? s : undefined;
    });
  const created: string[] = [];
  afterEach(async () => {
    for (const id of created.splice(0)) {
      await t.call('DELETE', `/compute/v2.1/servers/${id}`, 'admin');
      await cloud.waitFor('delete', async () => ((await getInstance(t.h.db, id)) === undefined ? true : undefined));
    }
  });
  const create = async (flavorRef = '1') => {
    const res = await t.call('POST', '/compute/v2.1/servers', 'member-a', { server: { name: 'vm', imageRef: IMAGE_ID, flavorRef, networks: 'none' } }, V);
    assert.equal(res.status, 202, res.text);
    const id = str(res.body, 'server', 'id');
    created.push(id);
    await waitStatus(id, 'ACTIVE');
    return id;
  };
  const hostOf = async (uuid: string) => str(await show(uuid), 'server', 'OS-EXT-SRV-ATTR:host');
  const migrations = async (query = '', version = '2.1') =>
    list((await t.call('GET', `/compute/v2.1/os-migrations${query}`, 'admin', undefined, { 'OpenStack-API-Version': `compute ${version}` })).body, 'migrations');
  const migrationOf = async (uuid: string) => (await migrations(`?instance_uuid=${uuid}`))[0];
  const migrationType = async (uuid: string) => (await latestMigration(t.h.db, uuid))?.migration_type;
  const usage = async () =>
    Object.fromEntries((await t.h.db.selectFrom('compute_nodes').select(['hypervisor_hostname', 'memory_mb_used']).execute()).map((r) => [r.hypervisor_hostname, r.memory_mb_used]));
  const events = async (uuid: string, action: string) => {
    const actions = list((await t.call('GET', `/compute/v2.1/servers/${uuid}/os-instance-actions`, 'admin', undefined, V)).body, 'instanceActions');
    const a = actions.find((x) => at(x, 'action') === action);
    assert.ok(a, `no ${action} action in ${JSON.stringify(actions)}`);
    const detail = await t.call('GET', `/compute/v2.1/servers/${uuid}/os-instance-actions/${str(a, 'request_id')}`, 'admin', undefined, V);
    return list(detail.body, 'instanceAction', 'events').map((e) => `${str(e, 'event')}:${str(e, 'result')}`);
  };

  it('rebuild: new image, name and metadata; REBUILD then ACTIVE; the answer carries adminPass', async () => {
    const id = await create();
    const res = await act(id, { rebuild: { imageRef: IMAGE_2, name: 'renamed', metadata: { role: 'web' }, adminPass: 's3cret-Pass' } });
    assert.equal(res.status, 202, res.text);
    assert.equal(str(res.body, 'server', 'status'), 'REBUILD');
    assert.equal(str(res.body, 'server', 'adminPass'), 's3cret-Pass');
    assert.equal(str(res.body, 'server', 'image', 'id'), IMAGE_2);
    await waitStatus(id, 'ACTIVE');
    const s = await show(id, 'member-a');
    assert.equal(str(s, 'server', 'name'), 'renamed');
    assert.deepEqual(at(s, 'server', 'metadata'), { role: 'web' });
    assert.deepEqual(await events(id, 'rebuild'), ['compute_rebuild_instance:Success']);
  });

  it('rebuild of a stopped server leaves it SHUTOFF, powered off on the hypervisor', async () => {
    const id = await create();
    assert.equal((await act(id, { 'os-stop': null })).status, 202);
    await waitStatus(id, 'SHUTOFF');
    assert.equal((await act(id, { rebuild: { imageRef: IMAGE_2 } })).status, 202);
    await cloud.waitFor('rebuild to finish', async () => ((await getInstance(t.h.db, id))?.task_state === null ? true : undefined));
    assert.equal(await status(id), 'SHUTOFF');
    const vm = [...cloud.computes.values()].flatMap((c) => c.driver.vms()).find((v) => v.uuid === id);
    assert.equal(vm?.powerState, 4);
  });

  it('rebuild refuses an unknown image and a wrong state with Nova’s errors, changing nothing', async () => {
    const id = await create();
    const bad = await act(id, { rebuild: { imageRef: '99999999-9999-4999-8999-999999999999' } });
    assert.equal(bad.status, 400);
    assert.equal(at(bad.body, 'badRequest', 'message'), 'Cannot find image for rebuild');
    const missing = await act(id, { rebuild: {} });
    assert.equal(missing.status, 400);
    assert.match(str(missing.body, 'badRequest', 'message'), /'imageRef' is a required property/);
    assert.equal(str(await show(id), 'server', 'image', 'id'), IMAGE_ID);
    assert.equal((await act(id, { pause: null })).status, 202);
    await waitStatus(id, 'PAUSED');
    const paused = await act(id, { rebuild: { imageRef: IMAGE_2 } });
    assert.equal(paused.status, 409);
    assert.equal(at(paused.body, 'conflictingRequest', 'message'), `Cannot 'rebuild' instance ${id} while it is in vm_state paused`);
  });

  it('admin rebuild of a server in ERROR brings it back to ACTIVE', async () => {
    const id = await create();
    assert.equal((await act(id, { 'os-resetState': { state: 'error' } }, 'admin')).status, 202);
    assert.equal((await act(id, { rebuild: { imageRef: IMAGE_2 } }, 'admin')).status, 202);
    await waitStatus(id, 'ACTIVE');
  });

  it('resize: VERIFY_RESIZE on the other host with the new flavor; confirm frees the source', async () => {
    const id = await create();
    const src = await hostOf(id);
    const res = await act(id, { resize: { flavorRef: '2' } });
    assert.equal(res.status, 202, res.text);
    await waitStatus(id, 'VERIFY_RESIZE');
    const s = await show(id);
    assert.equal(str(s, 'server', 'flavor', 'id'), '2');
    const dst = await hostOf(id);
    assert.notEqual(dst, src, 'allow_resize_to_same_host is off: the server moved');
    const mig = await migrationOf(id);
    assert.equal(at(mig, 'status'), 'finished');
    assert.equal(await migrationType(id), 'resize');
    assert.equal(at(mig, 'source_compute'), src);
    assert.equal(at(mig, 'dest_compute'), dst);
    // Until confirmed, both copies are allocated (the source's by the migration).
    assert.deepEqual(await usage(), { [`${src}-fake-1`]: 512, [`${dst}-fake-1`]: 2048 });
    const confirm = await act(id, { confirmResize: null });
    assert.equal(confirm.status, 204, confirm.text);
    await waitStatus(id, 'ACTIVE');
    await cloud.waitFor('the confirm to finish', async () => ((await migrationOf(id)) && at(await migrationOf(id), 'status') === 'confirmed' ? true : undefined));
    assert.deepEqual(await usage(), { [`${src}-fake-1`]: 0, [`${dst}-fake-1`]: 2048 });
    assert.deepEqual(await events(id, 'resize'), ['compute_resize_instance:Success', 'compute_finish_resize:Success']);
    assert.deepEqual(await events(id, 'confirmResize'), ['compute_confirm_resize:Success']);
  });

  it('revertResize: back on the source host with the old flavor, the destination freed', async () => {
    const id = await create();
    const src = await hostOf(id);
    assert.equal((await act(id, { resize: { flavorRef: '2' } })).status, 202);
    await waitStatus(id, 'VERIFY_RESIZE');
    assert.equal((await act(id, { revertResize: null })).status, 202);
    await waitStatus(id, 'ACTIVE');
    const s = await show(id);
    assert.equal(str(s, 'server', 'flavor', 'id'), '1');
    assert.equal(await hostOf(id), src);
    assert.equal(at(await migrationOf(id), 'status'), 'reverted');
    assert.deepEqual(Object.values(await usage()).sort(), [0, 512]);
    const vm = cloud.computes.get(src)?.driver.vms().find((v) => v.uuid === id);
    assert.equal(vm?.powerState, 1, 'the source copy runs again');
  });

  it('resize_confirm_window: the destination confirms a resize that waited longer, not before', async () => {
    const id = await create();
    assert.equal((await act(id, { resize: { flavorRef: '2' } })).status, 202);
    await waitStatus(id, 'VERIFY_RESIZE');
    const dest = cloud.computes.get(await hostOf(id));
    assert.ok(dest);
    assert.equal(await dest.agent.confirmOldResizes(), 0);
    assert.equal(await status(id), 'VERIFY_RESIZE');
    assert.equal(await dest.agent.confirmOldResizes(Date.now() + 3601_000), 1);
    await waitStatus(id, 'ACTIVE');
    await cloud.waitFor('the confirm', async () => (at(await migrationOf(id), 'status') === 'confirmed' ? true : undefined));
  });

  it('moves pass the same scheduler filters as a build: an anti-affinity member cannot migrate onto its peer\'s host', async () => {
    const group = await t.call('POST', '/compute/v2.1/os-server-groups', 'member-a', { server_group: { name: 'apart', policies: ['anti-affinity'] } }, V);
    assert.equal(group.status, 200, group.text);
    const hints = { group: str(group.body, 'server_group', 'id') };
    const ids: string[] = [];
    for (const name of ['apart-1', 'apart-2']) {
      const res = await t.call('POST', '/compute/v2.1/servers', 'member-a', { server: { name, imageRef: IMAGE_ID, flavorRef: '1', networks: 'none' }, 'os:scheduler_hints': hints }, V);
      assert.equal(res.status, 202, res.text);
      ids.push(str(res.body, 'server', 'id'));
      created.push(str(res.body, 'server', 'id'));
    }
    for (const id of ids) await waitStatus(id, 'ACTIVE');
    const [a = '', b = ''] = ids;
    assert.notEqual(await hostOf(a), await hostOf(b), 'the build kept them apart');
    for (const move of [{ migrate: null }, { 'os-migrateLive': { host: null, block_migration: false, disk_over_commit: false } }]) {
      const res = await act(b, move, 'admin');
      assert.equal(res.status, 400, res.text);
      assert.equal(
        at(res.body, 'badRequest', 'message'),
        'No valid host was found. There are not enough hosts available. Excluded source host removed 1 of 2; ServerGroupAntiAffinityFilter removed 1 of 1.',
      );
    }
    assert.equal(await status(b), 'ACTIVE');
    assert.equal(await latestMigration(t.h.db, b), undefined, 'no migration record was kept');
    // With its peer gone, the same migration finds the other host.
    await t.call('DELETE', `/compute/v2.1/servers/${a}`, 'admin');
    await cloud.waitFor('the peer to be deleted', async () => ((await getInstance(t.h.db, a)) === undefined ? true : undefined));
    const from = await hostOf(b);
    assert.equal((await act(b, { migrate: null }, 'admin')).status, 202);
    await waitStatus(b, 'VERIFY_RESIZE');
    assert.notEqual(await hostOf(b), from);
    assert.equal((await act(b, { confirmResize: null }, 'admin')).status, 204);
    await waitStatus(b, 'ACTIVE');
  });

  it('a resize with no other host able to take it is Nova’s "No valid host" (allow_resize_to_same_host is off)', async () => {
    const id = await create();
    const src = await hostOf(id);
    const other = await t.h.db.selectFrom('services').selectAll().where('host', '!=', src).where('binary', '=', 'nova-compute').executeTakeFirstOrThrow();
    await setServiceStatus(t.h.db, other.id, { disabled: true });
    try {
      const res = await act(id, { resize: { flavorRef: '2' } });
      assert.equal(res.status, 400);
      assert.equal(
        at(res.body, 'badRequest', 'message'),
        'No valid host was found. There are not enough hosts available. Excluded source host removed 1 of 2; Compute service up and enabled removed 1 of 1.',
      );
      assert.equal(await status(id), 'ACTIVE');
      assert.equal(await latestMigration(t.h.db, id), undefined, 'no migration record was kept');
    } finally {
      await setServiceStatus(t.h.db, other.id, { disabled: false });
    }
  });

  it('resize refuses the same flavor, an unknown one and a quota overrun with Nova’s errors', async () => {
    const id = await create();
    const same = await act(id, { resize: { flavorRef: '1' } });
    assert.equal(same.status, 400);
    assert.equal(at(same.body, 'badRequest', 'message'), 'When resizing, instances must change flavor!');
    const unknown = await act(id, { resize: { flavorRef: 'nope' } });
    assert.equal(unknown.status, 400);
    assert.equal(at(unknown.body, 'badRequest', 'message'), 'Unable to locate requested flavor.');
    const noArg = await act(id, { resize: {} });
    assert.equal(noArg.status, 400);
    assert.equal((await t.call('PUT', '/compute/v2.1/os-quota-sets/p-a', 'admin', { quota_set: { cores: 2 } }, V)).status, 200);
    try {
      const over = await act(id, { resize: { flavorRef: '5' } });
      assert.equal(over.status, 403, over.text);
      assert.match(str(over.body, 'forbidden', 'message'), /^Quota exceeded for cores: Requested 7, but already used \d+ of 2 cores$/);
    } finally {
      await t.call('PUT', '/compute/v2.1/os-quota-sets/p-a', 'admin', { quota_set: { cores: 20 } }, V);
    }
    assert.equal(await status(id), 'ACTIVE');
    assert.equal(str(await show(id), 'server', 'flavor', 'id'), '1');
    const conf = await act(id, { confirmResize: null });
    assert.equal(conf.status, 409);
  });

  it('cold migrate is for admins; it moves the server to the other host (VERIFY_RESIZE, then confirm)', async () => {
    const id = await create();
    const src = await hostOf(id);
    const denied = await act(id, { migrate: null });
    assert.equal(denied.status, 403);
    assert.equal((await act(id, { migrate: null }, 'admin')).status, 202);
    await waitStatus(id, 'VERIFY_RESIZE');
    assert.notEqual(await hostOf(id), src);
    assert.equal(await migrationType(id), 'migration');
    assert.equal((await act(id, { confirmResize: null }, 'admin')).status, 204);
    await waitStatus(id, 'ACTIVE');
  });

  it('a hypervisor failure on the source leaves the server as it was, with a fault and the migration in error', async () => {
    const id = await create();
    const src = await hostOf(id);
    const before = await usage();
    cloud.computes.get(src)?.driver.inject({ op: 'migrateDiskAndPowerOff', message: 'disk copy failed' });
    assert.equal((await act(id, { migrate: null }, 'admin')).status, 202);
    await cloud.waitFor('the migration to fail', async () => (at(await migrationOf(id), 'status') === 'error' ? true : undefined));
    await waitStatus(id, 'ACTIVE');
    assert.equal(await hostOf(id), src);
    assert.deepEqual(await usage(), before);
    assert.deepEqual(await events(id, 'migrate'), ['compute_resize_instance:Error']);
  });

  it('live migration: MIGRATING, then ACTIVE on the other host; the migration completed', async () => {
    const id = await create();
    const src = await hostOf(id);
    const res = await act(id, { 'os-migrateLive': { host: null, block_migration: false, disk_over_commit: false } }, 'admin');
    assert.equal(res.status, 202, res.text);
    await cloud.waitFor('the live migration', async () => (at(await migrationOf(id), 'status') === 'completed' ? true : undefined));
    assert.equal(await status(id), 'ACTIVE');
    const dst = await hostOf(id);
    assert.notEqual(dst, src);
    assert.equal(cloud.computes.get(dst)?.driver.vms().find((v) => v.uuid === id)?.powerState, 1);
    assert.equal(cloud.computes.get(src)?.driver.vms().find((v) => v.uuid === id), undefined);
    const self = await act(id, { 'os-migrateLive': { host: dst, block_migration: false, disk_over_commit: false } }, 'admin');
    assert.equal(self.status, 400);
    assert.equal(at(self.body, 'badRequest', 'message'), `Unable to migrate instance (${id}) to current host (${dst}).`);
    const nowhere = await act(id, { 'os-migrateLive': { host: 'nohost', block_migration: false, disk_over_commit: false } }, 'admin');
    assert.equal(nowhere.status, 400);
    assert.equal(at(nowhere.body, 'badRequest', 'message'), 'Compute host nohost could not be found.');
  });

  it('os-migrations filters by status and host; admins only', async () => {
    assert.ok((await migrations()).length >= 3);
    for (const m of await migrations('?status=completed')) assert.equal(at(m, 'status'), 'completed');
    for (const m of await migrations('?host=cmp1')) assert.ok(at(m, 'source_compute') === 'cmp1' || at(m, 'dest_compute') === 'cmp1');
    assert.equal((await t.call('GET', '/compute/v2.1/os-migrations', 'member-a')).status, 403);
  });

  it('os-migrations pages by uuid from 2.59', { skip: MAX_VERSION.minor < 59 ? 'the API does not serve 2.59 yet' : false }, async () => {
    const all = await migrations('', '2.59');
    assert.ok(all.length >= 3);
    for (const m of await migrations('?status=completed')) assert.equal(at(m, 'status'), 'completed');
    for (const m of await migrations('?host=cmp1')) assert.ok(at(m, 'source_compute') === 'cmp1' || at(m, 'dest_compute') === 'cmp1');
    const page = await t.call('GET', '/compute/v2.1/os-migrations?limit=1', 'admin', undefined, { 'OpenStack-API-Version': 'compute 2.59' });
    assert.equal(list(page.body, 'migrations').length, 1);
    assert.match(str(page.body, 'migrations_links', 0, 'href'), /marker=/);
    const next = await t.call('GET', `/compute/v2.1/os-migrations?limit=1&marker=${str(page.body, 'migrations', 0, 'uuid')}`, 'admin', undefined, { 'OpenStack-API-Version': 'compute 2.59' });
    assert.equal(str(next.body, 'migrations', 0, 'uuid'), str(all[1] as Json, 'uuid'));
    const badMarker = await t.call('GET', '/compute/v2.1/os-migrations?marker=nope', 'admin', undefined, { 'OpenStack-API-Version': 'compute 2.59' });
    assert.equal(badMarker.status, 400);
    assert.equal((await t.call('GET', '/compute/v2.1/os-migrations', 'member-a')).status, 403);
  });

  it('diagnostics (admin): the owning agent answers with its driver’s figures; a stopped server is a 409', async () => {
    const id = await create();
    const res = await t.call('GET', `/compute/v2.1/servers/${id}/diagnostics`, 'admin', undefined, V);
    assert.equal(res.status, 200, res.text);
    assert.equal(at(res.body, 'cpu0_time'), 17300000000);
    assert.equal(at(res.body, 'memory'), 512 * 1024);
    assert.equal((await t.call('GET', `/compute/v2.1/servers/${id}/diagnostics`, 'member-a', undefined, V)).status, 403);
    if (MAX_VERSION.minor >= 48) {
      const std = await t.call('GET', `/compute/v2.1/servers/${id}/diagnostics`, 'admin', undefined, { 'OpenStack-API-Version': 'compute 2.48' });
      assert.equal(at(std.body, 'driver'), 'libvirt');
      assert.equal(at(std.body, 'state'), 'running');
      assert.deepEqual(at(std.body, 'memory_details'), { maximum: 512, used: 0 });
    }
    assert.equal((await act(id, { 'os-stop': null })).status, 202);
    await waitStatus(id, 'SHUTOFF');
    const stopped = await t.call('GET', `/compute/v2.1/servers/${id}/diagnostics`, 'admin', undefined, V);
    assert.equal(stopped.status, 409);
  });

  it('evacuate: refused while the host is up; with the host forced down the server is rebuilt elsewhere', async () => {
    const id = await create();
    const src = await hostOf(id);
    const up = await act(id, { evacuate: {} }, 'admin');
    assert.equal(up.status, 400);
    assert.equal(at(up.body, 'badRequest', 'message'), `Compute service of ${src} is still in use.`);
    const svc = await t.h.db.selectFrom('services').selectAll().where('host', '=', src).where('binary', '=', 'nova-compute').executeTakeFirstOrThrow();
    await setServiceStatus(t.h.db, svc.id, { forcedDown: true });
    try {
      const res = await t.call('POST', `/compute/v2.1/servers/${id}/action`, 'admin', { evacuate: {} }, { 'OpenStack-API-Version': 'compute 2.14' });
      assert.equal(res.status, 200, res.text);
      await cloud.waitFor('the evacuation', async () => (at(await migrationOf(id), 'status') === 'done' ? true : undefined));
      assert.equal(await status(id), 'ACTIVE');
      assert.notEqual(await hostOf(id), src);
      assert.equal(await migrationType(id), 'evacuation');
      // The dead host's hypervisor still has the old copy until its agent starts again.
      const old = cloud.computes.get(src);
      assert.ok(old);
      assert.ok(old.driver.vms().some((v) => v.uuid === id));
      await old.agent.stop();
      old.agent = createComputeAgent({ db: t.h.db, bus: t.h.bus, config: old.config, logger: silentLogger, driver: old.driver, images: cloud.images });
      await old.agent.start();
      assert.equal(old.driver.vms().find((v) => v.uuid === id), undefined);
      assert.equal(at(await migrationOf(id), 'status'), 'completed');
    } finally {
      await setServiceStatus(t.h.db, svc.id, { forcedDown: false });
    }
  });

  it('/servers/{id}/migrations (2.23) shows a queued live migration; force_complete (2.22) refuses it, abort (2.24) cancels it', { skip: MAX_VERSION.minor < 25 ? 'the API does not serve 2.25 yet' : false }, async () => {
    const id = await create();
    const src = cloud.computes.get(await hostOf(id));
    assert.ok(src);
    // The source agent is away (its service still counts as up): the migration stays queued.
    await src.agent.stop();
    const M = { 'OpenStack-API-Version': 'compute 2.25' };
    try {
      assert.equal((await t.call('POST', `/compute/v2.1/servers/${id}/action`, 'admin', { 'os-migrateLive': { host: null, block_migration: 'auto' } }, M)).status, 202);
      assert.equal(await status(id), 'MIGRATING');
      const listed = await t.call('GET', `/compute/v2.1/servers/${id}/migrations`, 'admin', undefined, M);
      assert.equal(listed.status, 200, listed.text);
      const mig = list(listed.body, 'migrations')[0];
      assert.equal(at(mig, 'server_uuid'), id);
      assert.equal(at(mig, 'memory_total_bytes'), null);
      const mid = str(mig, 'id');
      assert.equal((await t.call('GET', `/compute/v2.1/servers/${id}/migrations/${mid}`, 'admin', undefined, M)).status, 200);
      assert.equal((await t.call('GET', `/compute/v2.1/servers/${id}/migrations/999999`, 'admin', undefined, M)).status, 404);
      const force = await t.call('POST', `/compute/v2.1/servers/${id}/migrations/${mid}/action`, 'admin', { force_complete: null }, M);
      assert.equal(force.status, 400);
      assert.match(str(force.body, 'badRequest', 'message'), /Cannot force_complete while the migration is in this state/);
      const abort = await t.call('DELETE', `/compute/v2.1/servers/${id}/migrations/${mid}`, 'admin', undefined, M);
      assert.equal(abort.status, 202, abort.text);
      assert.equal(await status(id), 'ACTIVE');
      assert.equal(at(await migrationOf(id), 'status'), 'cancelled');
      assert.deepEqual(list((await t.call('GET', `/compute/v2.1/servers/${id}/migrations`, 'admin', undefined, M)).body, 'migrations'), []);
    } finally {
      src.agent = createComputeAgent({ db: t.h.db, bus: t.h.bus, config: src.config, logger: silentLogger, driver: src.driver, images: cloud.images });
      await src.agent.start();
    }
  });

  it('rebuild at 2.57: key_name null removes the key, user_data replaces it; personality is refused', { skip: MAX_VERSION.minor < 57 ? 'the API does not serve 2.57 yet' : false }, async () => {
    const id = await create();
    const M = { 'OpenStack-API-Version': 'compute 2.57' };
    const res = await t.call('POST', `/compute/v2.1/servers/${id}/action`, 'member-a', { rebuild: { imageRef: IMAGE_2, key_name: null, user_data: 'aGVsbG8=' } }, M);
    assert.equal(res.status, 202, res.text);
    await waitStatus(id, 'ACTIVE');
    const row = await getInstance(t.h.db, id);
    assert.equal(row?.key_name, null);
    assert.equal(row?.user_data, 'aGVsbG8=');
    const bad = await t.call('POST', `/compute/v2.1/servers/${id}/action`, 'member-a', { rebuild: { imageRef: IMAGE_2, personality: [] } }, M);
    assert.equal(bad.status, 400);
    assert.match(str(bad.body, 'badRequest', 'message'), /'personality' was unexpected/);
  });

  it('a driver without cold migration refuses it: the server stays where it was, with a fault and a failed event', async () => {
    const id = await create();
    const src = cloud.computes.get(await hostOf(id));
    assert.ok(src);
    // As the libvirt and VMware drivers today: no migrateDiskAndPowerOff.
    Object.defineProperty(src.driver, 'migrateDiskAndPowerOff', { value: undefined, configurable: true });
    try {
      assert.equal((await act(id, { migrate: null }, 'admin')).status, 202);
      await cloud.waitFor('the refusal', async () => (at(await migrationOf(id), 'status') === 'error' ? true : undefined));
      assert.equal(await status(id), 'ACTIVE');
      assert.equal(await hostOf(id), src.host);
      const fault = await t.h.db.selectFrom('instance_faults').select('message').where('instance_uuid', '=', id).orderBy('id', 'desc').executeTakeFirst();
      assert.equal(fault?.message, 'migrateDiskAndPowerOff is not supported by the fake driver');
      assert.deepEqual(await events(id, 'migrate'), ['compute_resize_instance:Error']);
      assert.equal(src.driver.vms().find((v) => v.uuid === id)?.powerState, 1, 'still running on its host');
      // Once the agent has reported it (supports_migrate: False), the API refuses at once.
      await src.agent.reportResources();
      const refused = await act(id, { resize: { flavorRef: '2' } });
      assert.equal(refused.status, 409);
      assert.equal(at(refused.body, 'conflictingRequest', 'message'), `Cannot 'resize' instance ${id}: resize is not supported by this hypervisor (fake).`);
      assert.equal(await status(id), 'ACTIVE');
    } finally {
      Reflect.deleteProperty(src.driver, 'migrateDiskAndPowerOff');
      await src.agent.reportResources();
    }
  });

  it('a failure on the destination puts the server in ERROR with a fault; it can still be deleted', async () => {
    const id = await create();
    const src = await hostOf(id);
    const dst = [...cloud.computes.keys()].find((h) => h !== src) as string;
    cloud.computes.get(dst)?.driver.inject({ op: 'finishMigration', message: 'no room for the disk' });
    assert.equal((await act(id, { resize: { flavorRef: '2' } })).status, 202);
    await waitStatus(id, 'ERROR');
    assert.equal(str(await show(id), 'server', 'fault', 'message'), 'no room for the disk');
    assert.equal(at(await migrationOf(id), 'status'), 'error');
    assert.equal((await t.call('DELETE', `/compute/v2.1/servers/${id}`, 'admin')).status, 204);
    await cloud.waitFor('delete', async () => ((await getInstance(t.h.db, id)) === undefined ? true : undefined));
    created.splice(created.indexOf(id), 1);
    const left = await t.h.db.selectFrom('allocations').selectAll().execute();
    assert.deepEqual(left.filter((a) => a.instance_uuid === id), []);
    assert.deepEqual(await usage(), Object.fromEntries(Object.keys(await usage()).map((k) => [k, 0])), 'every allocation was given back');
  });
});

describe('compute API: resize on one host with allow_resize_to_same_host', () => {
  let t: ComputeHarness;
  let cloud: TestCloud;
  before(async () => {
    t = await startHarness('[DEFAULT]\nreserved_host_memory_mb = 0\nallow_resize_to_same_host = true\n');
    cloud = new TestCloud(t.h);
    cloud.images.ids.add(IMAGE_ID);
    await cloud.addCompute('solo');
    await cloud.addScheduler('sched');
  });
  after(async () => {
    await cloud.stop();
    await t.close();
  });

  it('resizes in place (same host and node), reverts, resizes again and confirms', async () => {
    const show = async (id: string) => (await t.call('GET', `/compute/v2.1/servers/${id}`, 'admin')).body;
    const waitStatus = (id: string, want: string) => cloud.waitFor(`${want}`, async () => (str(await show(id), 'server', 'status') === want ? true : undefined));
    const res = await t.call('POST', '/compute/v2.1/servers', 'member-a', { server: { name: 'one', imageRef: IMAGE_ID, flavorRef: '1', networks: 'none' } });
    const id = str(res.body, 'server', 'id');
    await waitStatus(id, 'ACTIVE');
    const act = (body: unknown) => t.call('POST', `/compute/v2.1/servers/${id}/action`, 'member-a', body);
    assert.equal((await act({ resize: { flavorRef: '2' } })).status, 202);
    await waitStatus(id, 'VERIFY_RESIZE');
    assert.equal(str(await show(id), 'server', 'OS-EXT-SRV-ATTR:host'), 'solo');
    assert.equal((await act({ revertResize: null })).status, 202);
    await waitStatus(id, 'ACTIVE');
    assert.equal(str(await show(id), 'server', 'flavor', 'id'), '1');
    const driver = cloud.computes.get('solo')?.driver;
    assert.equal(driver?.vms().find((v) => v.uuid === id)?.powerState, 1);
    assert.equal((await act({ resize: { flavorRef: '2' } })).status, 202);
    await waitStatus(id, 'VERIFY_RESIZE');
    assert.equal((await act({ confirmResize: null })).status, 204);
    await waitStatus(id, 'ACTIVE');
    await cloud.waitFor('confirmed', async () => ((await latestMigration(t.h.db, id))?.status === 'confirmed' ? true : undefined));
    assert.equal(driver?.vms().filter((v) => v.uuid === id).length, 1);
    const used = await t.h.db.selectFrom('compute_nodes').select('memory_mb_used').executeTakeFirstOrThrow();
    assert.equal(used.memory_mb_used, 2048, 'only the new flavor stays allocated');
  });
});
