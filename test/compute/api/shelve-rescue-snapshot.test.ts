import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createComputeAgent, type ComputeAgent } from '../../../src/compute/agent/index.js';
import { FakeDriver } from '../../../src/compute/drivers/fake/index.js';
import { MAX_VERSION, compareVersions } from '../../../src/compute/api/microversion.js';
import { createScheduler, type Scheduler } from '../../../src/compute/scheduler/index.js';
import { configFromText } from '../../../src/config/load.js';
import { getAllocation } from '../../../src/db/repos/compute-nodes.js';
import { getSystemMetadata } from '../../../src/db/repos/instance-extras.js';
import { getInstance, latestInstanceAction, latestInstanceFault } from '../../../src/db/repos/instances.js';
import { createImageProvider, FileImageStore } from '../../../src/image/index.js';
import { silentLogger } from '../../../src/log.js';
import { waitOnBus } from '../agent/harness.js';
import { at, IMAGE_ID, list, SERVER, startHarness, str, type ComputeHarness } from './harness.js';

/**
 * Shelve, snapshots, rescue, passwords and console output through the Compute API, with
 * the real compute agent (fake driver), the scheduler and the file image store behind it.
 */
const supports = (minor: number): boolean => compareVersions(MAX_VERSION, { major: 2, minor }) >= 0;
const needs = (minor: number) => (supports(minor) ? false : `needs compute microversion 2.${minor} (the API's maximum is ${MAX_VERSION.major}.${MAX_VERSION.minor})`);

describe('compute API: shelve, snapshots, rescue, password, console output (fake driver)', () => {
  let t: ComputeHarness;
  let driver: FakeDriver;
  let agent: ComputeAgent;
  let scheduler: Scheduler;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pv-shelve-'));
    t = await startHarness(`[quota]\ninstances = 100\ncores = 200\nram = 512000\n`);
    const config = configFromText(`[DEFAULT]\nhost = c1\nreserved_host_memory_mb = 0\n[fake]\nnodes = 1\n`).config;
    driver = new FakeDriver({ ...config.fake, host: 'c1' });
    const store = new FileImageStore(dir);
    // The harness's image has no bits; give it some so that builds (and unshelves) can read it.
    const put = await store.put(Readable.from([Buffer.alloc(4096)]));
    await t.h.db.updateTable('images').set({ location: put.location, disk_format: 'raw', size: put.size }).where('id', '=', IMAGE_ID).execute();
    const images = createImageProvider(t.h.db, store);
    agent = createComputeAgent({ db: t.h.db, bus: t.h.bus, config, logger: silentLogger, driver, images });
    await agent.start();
    scheduler = createScheduler({ db: t.h.db, bus: t.h.bus, config, logger: silentLogger, identity: 'test:scheduler' });
    await scheduler.start();
  });
  after(async () => {
    await scheduler.stop();
    await agent.stop();
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  const mv = (v: string) => ({ 'openstack-api-version': `compute ${v}` });
  const act = (uuid: string, body: unknown, token = 'member-a', headers: Record<string, string> = {}) =>
    t.call('POST', `/compute/v2.1/servers/${uuid}/action`, token, body, headers);

  /** Re-checks on every notification (and every 10 ms) until `check` holds. */
  const waitFor = <T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> => waitOnBus(t.h.bus, what, check, timeoutMs);
  const settled = (uuid: string) =>
    waitFor(`server ${uuid} to settle`, async () => {
      const row = await getInstance(t.h.db, uuid);
      return row && row.task_state === null && row.vm_state !== 'building' ? row : undefined;
    });
  const status = async (uuid: string) => str((await t.call('GET', `/compute/v2.1/servers/${uuid}`, 'member-a')).body, 'server', 'status');
  const image = (id: string) => t.h.db.selectFrom('images').selectAll().where('id', '=', id).executeTakeFirst();
  const eventsOf = async (uuid: string, action: string) => {
    const a = await latestInstanceAction(t.h.db, uuid, action);
    if (!a) return [];
    return t.h.db.selectFrom('instance_action_events').select(['event', 'result']).where('action_id', '=', a.id).orderBy('id').execute();
  };
  const boot = async (name = 'web') => {
    const res = await t.call('POST', '/compute/v2.1/servers', 'member-a', SERVER({ name }));
    assert.equal(res.status, 202, res.text);
    const uuid = str(res.body, 'server', 'id');
    assert.equal((await settled(uuid)).vm_state, 'active');
    return uuid;
  };

  it('createImage snapshots the disk into an active private image with Nova’s properties; the server stays ACTIVE', async () => {
    const uuid = await boot();
    const res = await act(uuid, { createImage: { name: 'snap-1', metadata: { purpose: 'test' } } });
    assert.equal(res.status, 202, res.text);
    const location = String(res.headers['location'] ?? '');
    assert.match(location, /^http:\/\/api\.test:8774\/image\/v2\/images\/[0-9a-f-]{36}$/);
    const imageId = location.slice(location.lastIndexOf('/') + 1);
    await settled(uuid);
    const img = await image(imageId);
    assert.equal(img?.status, 'active');
    assert.equal(img?.name, 'snap-1');
    assert.equal(img?.owner, 'p-a');
    assert.equal(img?.visibility, 'private');
    assert.equal(img?.disk_format, 'raw');
    assert.equal(img?.size, 64 * 1024);
    const props = JSON.parse(img?.properties ?? '{}') as Record<string, string>;
    assert.deepEqual(
      [props['instance_uuid'], props['image_type'], props['base_image_ref'], props['user_id'], props['purpose']],
      [uuid, 'snapshot', IMAGE_ID, 'u-a', 'test'],
    );
    assert.equal(await status(uuid), 'ACTIVE');
    assert.deepEqual(await eventsOf(uuid, 'createImage'), [{ event: 'compute_snapshot_instance', result: 'Success' }]);
    assert.deepEqual(await getSystemMetadata(t.h.db, uuid), {}, 'the pending image id is cleared');
  });

  it('createBackup keeps the newest `rotation` backups of that type and deletes older ones', async () => {
    const uuid = await boot('bk');
    const ids: string[] = [];
    for (const name of ['b1', 'b2', 'b3']) {
      const res = await act(uuid, { createBackup: { name, backup_type: 'daily', rotation: 2 } });
      assert.equal(res.status, 202, res.text);
      const loc = String(res.headers['location'] ?? '');
      ids.push(loc.slice(loc.lastIndexOf('/') + 1));
      await settled(uuid);
    }
    const [first = '', second = '', third = ''] = ids;
    assert.equal((await image(first))?.deleted, 1, 'the oldest backup was rotated out');
    assert.equal((await image(second))?.status, 'active');
    assert.equal((await image(third))?.status, 'active');
    const props = JSON.parse((await image(third))?.properties ?? '{}') as Record<string, string>;
    assert.deepEqual([props['image_type'], props['backup_type'], props['instance_uuid']], ['backup', 'daily', uuid]);
  });

  it('refuses bad snapshot and backup bodies with 400, creating no image', async () => {
    const uuid = await boot('bad');
    const before = (await t.h.db.selectFrom('images').select('id').execute()).length;
    const cases: [unknown, RegExp][] = [
      [{ createImage: {} }, /'name' is a required property/],
      [{ createImage: { name: 'x', extra: 1 } }, /Additional properties are not allowed \('extra' was unexpected\)/],
      [{ createBackup: { name: 'x', backup_type: 'daily' } }, /'rotation' is a required property/],
      [{ createBackup: { name: 'x', backup_type: 'daily', rotation: -1 } }, /rotation/],
      [{ createImage: { name: 'x', metadata: { k: 5 } } }, /is not of type 'string'/],
    ];
    for (const [body, message] of cases) {
      const res = await act(uuid, body);
      assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.text}`);
      assert.match(str(res.body, 'badRequest', 'message'), message);
    }
    assert.equal((await t.h.db.selectFrom('images').select('id').execute()).length, before);
    assert.equal((await getInstance(t.h.db, uuid))?.task_state, null);
  });

  it('an upload a restart interrupted (task image_uploading, image saving) is done again by the agent', async () => {
    const uuid = await boot('resume');
    const res = await act(uuid, { createImage: { name: 'resumed' } });
    const loc = String(res.headers['location'] ?? '');
    const imageId = loc.slice(loc.lastIndexOf('/') + 1);
    await settled(uuid);
    // What a crash mid-upload leaves: the image back in 'saving' without bits, the task at its upload step.
    await t.h.db.updateTable('images').set({ status: 'saving', location: null, size: null }).where('id', '=', imageId).execute();
    await t.h.db.insertInto('instance_system_metadata').values({ instance_uuid: uuid, key: 'snapshot_image_id', value: imageId }).execute();
    await t.h.db.updateTable('instances').set({ task_state: 'image_uploading' }).where('uuid', '=', uuid).execute();
    await t.h.bus.notify('instances', 'c1');
    const row = await settled(uuid);
    assert.equal(row.vm_state, 'active');
    assert.equal((await image(imageId))?.status, 'active');
    assert.equal((await image(imageId))?.size, 64 * 1024);
  });

  it('a failed snapshot deletes the image, records a fault and an Error event, and leaves the server ACTIVE', async () => {
    const uuid = await boot('fails');
    driver.inject({ op: 'snapshot', uuid, message: 'disk busy' });
    const res = await act(uuid, { createImage: { name: 'doomed' } });
    assert.equal(res.status, 202);
    const loc = String(res.headers['location'] ?? '');
    const row = await settled(uuid);
    assert.equal(row.vm_state, 'active');
    assert.equal((await image(loc.slice(loc.lastIndexOf('/') + 1)))?.deleted, 1);
    assert.equal((await latestInstanceFault(t.h.db, uuid))?.message, 'disk busy');
    assert.deepEqual(await eventsOf(uuid, 'createImage'), [{ event: 'compute_snapshot_instance', result: 'Error' }]);
  });

  it('shelve offloads at once (shelved_offload_time = 0): SHELVED_OFFLOADED, no host, node freed, a "<name>-shelved" image; unshelve brings it back and deletes the image', async () => {
    const uuid = await boot('shelf');
    assert.equal((await act(uuid, { shelve: null })).status, 202);
    const off = await settled(uuid);
    assert.equal(off.vm_state, 'shelved_offloaded');
    assert.equal(await status(uuid), 'SHELVED_OFFLOADED');
    assert.equal(off.host, null);
    assert.equal(off.node, null);
    assert.equal(await getAllocation(t.h.db, uuid), undefined, 'the allocation went back to the node');
    assert.equal(driver.vms().some((v) => v.uuid === uuid), false, 'the VM is gone from the hypervisor');
    const shelvedId = (await getSystemMetadata(t.h.db, uuid))['shelved_image_id'] ?? '';
    const shelved = await image(shelvedId);
    assert.equal(shelved?.name, 'shelf-shelved');
    assert.equal(shelved?.status, 'active');
    const again = await act(uuid, { shelve: null });
    assert.equal(again.status, 409);
    assert.equal(at(again.body, 'conflictingRequest', 'message'), `Cannot 'shelve' instance ${uuid} while it is in vm_state shelved_offloaded`);

    assert.equal((await act(uuid, { unshelve: null })).status, 202);
    const back = await settled(uuid);
    assert.equal(back.vm_state, 'active');
    assert.equal(back.host, 'c1');
    assert.ok(await getAllocation(t.h.db, uuid), 'placed again');
    assert.equal(driver.vms().find((v) => v.uuid === uuid)?.powerState, 1);
    assert.equal((await image(shelvedId))?.deleted, 1, 'the shelved image is deleted after unshelve');
    assert.deepEqual(await getSystemMetadata(t.h.db, uuid), {});
    assert.deepEqual(
      (await eventsOf(uuid, 'shelve')).map((e) => e.event),
      ['compute_shelve_instance', 'compute_shelve_offload_instance'],
    );
    assert.deepEqual(await eventsOf(uuid, 'unshelve'), [{ event: 'compute_unshelve_instance', result: 'Success' }]);
  });

  it('a shelve whose snapshot fails leaves the server ACTIVE and running, deletes the half-made image and records a fault', async () => {
    const uuid = await boot('shelf-fail');
    driver.inject({ op: 'snapshot', uuid, message: 'datastore full' });
    assert.equal((await act(uuid, { shelve: null })).status, 202);
    const row = await settled(uuid);
    const imageId = (await t.h.db.selectFrom('images').select('id').where('name', '=', 'shelf-fail-shelved').executeTakeFirstOrThrow()).id;
    assert.deepEqual([row.vm_state, row.power_state, row.host], ['active', 1, 'c1']);
    assert.equal(driver.vms().find((v) => v.uuid === uuid)?.powerState, 1);
    assert.equal((await image(imageId))?.deleted, 1);
    assert.equal((await latestInstanceFault(t.h.db, uuid))?.message, 'datastore full');
    assert.deepEqual(await getSystemMetadata(t.h.db, uuid), {});
  });

  it('unshelve of an ACTIVE server is 409; a paused server can be shelved', async () => {
    const uuid = await boot('paused');
    const res = await act(uuid, { unshelve: null });
    assert.equal(res.status, 409);
    assert.equal(at(res.body, 'conflictingRequest', 'message'), `Cannot 'unshelve' instance ${uuid} while it is in vm_state active`);
    assert.equal((await act(uuid, { pause: null })).status, 202);
    assert.equal((await settled(uuid)).vm_state, 'paused');
    assert.equal((await act(uuid, { shelve: null })).status, 202);
    assert.equal((await settled(uuid)).vm_state, 'shelved_offloaded');
  });

  it('shelveOffload is for admins and only from SHELVED', async () => {
    const uuid = await boot('off');
    assert.equal((await act(uuid, { shelveOffload: null })).status, 403);
    const res = await act(uuid, { shelveOffload: null }, 'admin');
    assert.equal(res.status, 409);
    assert.equal(at(res.body, 'conflictingRequest', 'message'), `Cannot 'shelveOffload' instance ${uuid} while it is in vm_state active`);
  });

  it('rescue answers the admin password and reaches RESCUE; reboot is refused there; unrescue returns to ACTIVE', async () => {
    const uuid = await boot('resc');
    const res = await act(uuid, { rescue: { adminPass: 'Rescue-Pass-1' } });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body, { adminPass: 'Rescue-Pass-1' });
    const rescued = await settled(uuid);
    assert.equal(rescued.vm_state, 'rescued');
    assert.equal(await status(uuid), 'RESCUE');
    assert.equal(driver.vms().find((v) => v.uuid === uuid)?.rescued, true);
    assert.deepEqual(await getSystemMetadata(t.h.db, uuid), {}, 'the rescue password is not kept');
    const reboot = await act(uuid, { reboot: { type: 'HARD' } });
    assert.equal(reboot.status, 409);
    const generated = await act(uuid, { rescue: null });
    assert.equal(generated.status, 409, 'already rescued');
    assert.equal((await act(uuid, { unrescue: null })).status, 202);
    assert.equal((await settled(uuid)).vm_state, 'active');
    assert.equal(driver.vms().find((v) => v.uuid === uuid)?.rescued, undefined);
  });

  it('rescue generates a password when none is given and refuses an unknown rescue image with 400', async () => {
    const uuid = await boot('resc2');
    const bad = await act(uuid, { rescue: { rescue_image_ref: '00000000-0000-4000-8000-000000000000' } });
    assert.equal(bad.status, 400);
    assert.equal((await getInstance(t.h.db, uuid))?.task_state, null, 'nothing changed');
    const res = await act(uuid, { rescue: null });
    assert.equal(res.status, 200);
    assert.match(str(res.body, 'adminPass'), /^[A-Za-z0-9]{12}$/);
    assert.equal((await settled(uuid)).vm_state, 'rescued');
  });

  it('a driver failure during rescue leaves the server ACTIVE with a fault', async () => {
    const uuid = await boot('resc3');
    driver.inject({ op: 'rescue', uuid, message: 'no rescue disk' });
    assert.equal((await act(uuid, { rescue: null })).status, 200);
    const row = await settled(uuid);
    assert.equal(row.vm_state, 'active');
    assert.equal((await latestInstanceFault(t.h.db, uuid))?.message, 'no rescue disk');
  });

  it('changePassword sets the guest password through the driver and keeps no copy', async () => {
    const uuid = await boot('pw');
    const res = await act(uuid, { changePassword: { adminPass: 'Newpass1234' } });
    assert.equal(res.status, 202, res.text);
    await settled(uuid);
    assert.equal(driver.passwordDigest(uuid), createHash('sha256').update('Newpass1234').digest('hex'));
    assert.deepEqual(await getSystemMetadata(t.h.db, uuid), {});
    assert.equal((await act(uuid, { changePassword: {} })).status, 400);
    assert.deepEqual(await eventsOf(uuid, 'changePassword'), [{ event: 'compute_set_admin_password', result: 'Success' }]);
  });

  it('os-getConsoleOutput returns the tail the agent read, the whole log without length, 404 for an unknown server', async () => {
    const uuid = await boot('cons');
    const three = await act(uuid, { 'os-getConsoleOutput': { length: 3 } });
    assert.equal(three.status, 200, three.text);
    assert.equal(str(three.body, 'output').split('\n').length, 3);
    const all = await act(uuid, { 'os-getConsoleOutput': {} });
    assert.ok(str(all.body, 'output').split('\n').length > 3);
    assert.match(str(all.body, 'output'), /cons login: /);
    const asString = await act(uuid, { 'os-getConsoleOutput': { length: '2' } });
    assert.equal(str(asString.body, 'output').split('\n').length, 2);
    const bad = await act(uuid, { 'os-getConsoleOutput': { length: 'x' } });
    assert.equal(bad.status, 400);
    const missing = await act('00000000-0000-4000-8000-000000000000', { 'os-getConsoleOutput': { length: 3 } });
    assert.equal(missing.status, 404);
    assert.equal((await act(uuid, { 'os-stop': null })).status, 202);
    await settled(uuid);
    const stopped = await act(uuid, { 'os-getConsoleOutput': { length: 3 } });
    assert.equal(stopped.status, 200, 'a SHUTOFF server still has its log');
  });

  it('os-server-password answers "" (no metadata service posts one) and DELETE clears it', async () => {
    const uuid = await boot('spw');
    const res = await t.call('GET', `/compute/v2.1/servers/${uuid}/os-server-password`, 'member-a');
    assert.deepEqual(res.body, { password: '' });
    assert.equal((await t.call('DELETE', `/compute/v2.1/servers/${uuid}/os-server-password`, 'member-a')).status, 204);
    assert.equal((await t.call('GET', `/compute/v2.1/servers/${uuid}/os-server-password`, 'member-b')).status, 404);
  });

  it('trigger_crash_dump does not exist before 2.17', async () => {
    const uuid = await boot('nmi0');
    const res = await act(uuid, { trigger_crash_dump: null });
    assert.equal(res.status, 400);
    assert.equal(driver.crashDumps(uuid), 0);
  });

  it('trigger_crash_dump (2.17) sends an NMI and leaves the server ACTIVE', { skip: needs(17) }, async () => {
    const uuid = await boot('nmi');
    assert.equal((await act(uuid, { trigger_crash_dump: null }, 'member-a', mv('2.17'))).status, 202);
    assert.equal((await settled(uuid)).vm_state, 'active');
    assert.equal(driver.crashDumps(uuid), 1);
  });

  it('server tags do not exist before 2.26', async () => {
    const uuid = await boot('notags');
    assert.equal((await t.call('GET', `/compute/v2.1/servers/${uuid}/tags`, 'member-a')).status, 404);
    assert.equal(at((await t.call('GET', `/compute/v2.1/servers/${uuid}`, 'member-a')).body, 'server', 'tags'), undefined);
  });

  it('server tags (2.26): CRUD, show and the list filters', { skip: needs(26) }, async () => {
    const h = mv('2.26');
    const a = await boot('tag-a');
    const b = await boot('tag-b');
    const put = await t.call('PUT', `/compute/v2.1/servers/${a}/tags`, 'member-a', { tags: ['red', 'blue'] }, h);
    assert.deepEqual(put.body, { tags: ['blue', 'red'] });
    assert.equal((await t.call('PUT', `/compute/v2.1/servers/${b}/tags/red`, 'member-a', undefined, h)).status, 201);
    assert.equal((await t.call('PUT', `/compute/v2.1/servers/${b}/tags/red`, 'member-a', undefined, h)).status, 204);
    assert.equal((await t.call('GET', `/compute/v2.1/servers/${b}/tags/red`, 'member-a', undefined, h)).status, 204);
    assert.equal((await t.call('GET', `/compute/v2.1/servers/${b}/tags/blue`, 'member-a', undefined, h)).status, 404);
    assert.equal((await t.call('PUT', `/compute/v2.1/servers/${b}/tags/a,b`, 'member-a', undefined, h)).status, 400);
    assert.deepEqual(at((await t.call('GET', `/compute/v2.1/servers/${a}`, 'member-a', undefined, h)).body, 'server', 'tags'), ['blue', 'red']);
    const ids = async (q: string) =>
      list((await t.call('GET', `/compute/v2.1/servers?${q}`, 'member-a', undefined, h)).body, 'servers')
        .map((s) => str(s, 'id'))
        .filter((id) => id === a || id === b)
        .sort();
    assert.deepEqual(await ids('tags=red,blue'), [a]);
    assert.deepEqual(await ids('tags-any=red'), [a, b].sort());
    assert.deepEqual(await ids('not-tags=red,blue'), [b]);
    assert.deepEqual(await ids('not-tags-any=blue'), [b]);
    assert.equal((await t.call('DELETE', `/compute/v2.1/servers/${a}/tags/red`, 'member-a', undefined, h)).status, 204);
    assert.equal((await t.call('DELETE', `/compute/v2.1/servers/${a}/tags/red`, 'member-a', undefined, h)).status, 404);
    assert.equal((await t.call('DELETE', `/compute/v2.1/servers/${a}/tags`, 'member-a', undefined, h)).status, 204);
    assert.deepEqual((await t.call('GET', `/compute/v2.1/servers/${a}/tags`, 'member-a', undefined, h)).body, { tags: [] });
    const many = Array.from({ length: 51 }, (_, i) => `t${i}`);
    assert.equal((await t.call('PUT', `/compute/v2.1/servers/${a}/tags`, 'member-a', { tags: many }, h)).status, 400);
  });

  it('tags on create need 2.52', async () => {
    const res = await t.call('POST', '/compute/v2.1/servers', 'member-a', SERVER({ name: 'tc', tags: ['x'] }));
    assert.equal(res.status, 400);
    assert.match(str(res.body, 'badRequest', 'message'), /'tags' was unexpected/);
  });

  it('createImage answers {"image_id"} from 2.45', { skip: needs(45) }, async () => {
    const uuid = await boot('s245');
    const res = await act(uuid, { createImage: { name: 'snap-245' } }, 'member-a', mv('2.45'));
    assert.equal(res.status, 202);
    assert.match(str(res.body, 'image_id'), /^[0-9a-f-]{36}$/);
    assert.equal(res.headers['location'], undefined);
    await settled(uuid);
  });

  it('unshelve (2.77) to a zone that does not exist is 400, and to a SHELVED server with a zone 409', { skip: needs(77) }, async () => {
    const uuid = await boot('az');
    assert.equal((await act(uuid, { shelve: null })).status, 202);
    await settled(uuid);
    const bad = await act(uuid, { unshelve: { availability_zone: 'nowhere' } }, 'member-a', mv('2.77'));
    assert.equal(bad.status, 400);
    const ok = await act(uuid, { unshelve: { availability_zone: 'nova' } }, 'member-a', mv('2.77'));
    assert.equal(ok.status, 202);
    assert.equal((await settled(uuid)).vm_state, 'active');
  });
});

describe('compute API: shelve with shelved_offload_time = -1, shelveOffload, and an unshelve with no room', () => {
  let t: ComputeHarness;
  let driver: FakeDriver;
  let agent: ComputeAgent;
  let scheduler: Scheduler;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pv-shelve2-'));
    t = await startHarness(`[quota]\ninstances = 100\ncores = 200\nram = 512000\n`);
    // One node with room for exactly one m1.tiny (1 vCPU).
    const config = configFromText(`[DEFAULT]\nhost = c2\nreserved_host_memory_mb = 0\ncpu_allocation_ratio = 1.0\nshelved_offload_time = -1\n[fake]\nnodes = 1\nvcpus = 1\n`).config;
    driver = new FakeDriver({ ...config.fake, host: 'c2' });
    const store = new FileImageStore(dir);
    const put = await store.put(Readable.from([Buffer.alloc(4096)]));
    await t.h.db.updateTable('images').set({ location: put.location, disk_format: 'raw', size: put.size }).where('id', '=', IMAGE_ID).execute();
    agent = createComputeAgent({ db: t.h.db, bus: t.h.bus, config, logger: silentLogger, driver, images: createImageProvider(t.h.db, store) });
    await agent.start();
    scheduler = createScheduler({ db: t.h.db, bus: t.h.bus, config, logger: silentLogger, identity: 'test:scheduler2' });
    await scheduler.start();
  });
  after(async () => {
    await scheduler.stop();
    await agent.stop();
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  const act = (uuid: string, body: unknown, token = 'member-a') => t.call('POST', `/compute/v2.1/servers/${uuid}/action`, token, body);
  const settled = async (uuid: string) => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const row = await getInstance(t.h.db, uuid);
      if (row && row.task_state === null && row.vm_state !== 'building') return row;
      if (Date.now() > deadline) throw new Error(`server ${uuid} did not settle`);
      await new Promise<void>((resolve) => {
        const off = t.h.bus.subscribe('instances', () => {
          off();
          resolve();
        });
        setTimeout(() => {
          off();
          resolve();
        }, 10).unref();
      });
    }
  };
  const boot = async (name: string) => {
    const res = await t.call('POST', '/compute/v2.1/servers', 'member-a', SERVER({ name }));
    assert.equal(res.status, 202, res.text);
    const uuid = str(res.body, 'server', 'id');
    await settled(uuid);
    return uuid;
  };

  it('SHELVED keeps the server on its host, powered off; unshelve powers it on there', async () => {
    const uuid = await boot('keep');
    assert.equal((await act(uuid, { shelve: {} })).status, 202);
    const shelved = await settled(uuid);
    assert.equal(shelved.vm_state, 'shelved');
    assert.equal(shelved.host, 'c2');
    assert.equal(driver.vms().find((v) => v.uuid === uuid)?.powerState, 4, 'powered off, still on the hypervisor');
    assert.equal((await act(uuid, { unshelve: null })).status, 202);
    const back = await settled(uuid);
    assert.equal(back.vm_state, 'active');
    assert.equal(driver.vms().find((v) => v.uuid === uuid)?.powerState, 1);
    assert.deepEqual(await getSystemMetadata(t.h.db, uuid), {});
  });

  it('shelveOffload frees the node; an unshelve with no room left stays SHELVED_OFFLOADED with a fault', async () => {
    const [first] = (await t.h.db.selectFrom('instances').select('uuid').where('display_name', '=', 'keep').execute()).map((r) => r.uuid);
    const uuid = first ?? '';
    assert.equal((await act(uuid, { shelve: null })).status, 202);
    assert.equal((await settled(uuid)).vm_state, 'shelved');
    assert.equal((await act(uuid, { shelveOffload: null }, 'admin')).status, 202);
    const off = await settled(uuid);
    assert.equal(off.vm_state, 'shelved_offloaded');
    assert.equal(off.host, null);
    const other = await boot('taker');
    assert.equal((await getInstance(t.h.db, other))?.vm_state, 'active', 'the freed vCPU was used');
    assert.equal((await act(uuid, { unshelve: null })).status, 202);
    const failed = await settled(uuid);
    assert.equal(failed.vm_state, 'shelved_offloaded');
    assert.equal(failed.host, null);
    assert.match((await latestInstanceFault(t.h.db, uuid))?.message ?? '', /No valid host/);
    assert.equal(await getAllocation(t.h.db, uuid), undefined);
    assert.ok((await getSystemMetadata(t.h.db, uuid))['shelved_image_id'], 'the shelved image is kept for a later unshelve');
  });
});

describe('compute API: a driver without snapshots, rescue, passwords or console logs (as VMware today)', () => {
  let t: ComputeHarness;
  let agent: ComputeAgent;
  let scheduler: Scheduler;

  before(async () => {
    t = await startHarness();
    const config = configFromText(`[DEFAULT]\nhost = c3\nreserved_host_memory_mb = 0\n[fake]\nnodes = 1\n`).config;
    const fake = new FakeDriver({ ...config.fake, host: 'c3' });
    const missing = new Set<PropertyKey>(['snapshot', 'rescue', 'unrescue', 'setAdminPassword', 'getConsoleOutput', 'triggerCrashDump']);
    // The fake driver with the optional methods taken away.
    const driver = new Proxy(fake, {
      get(target, prop) {
        if (missing.has(prop)) return undefined;
        const v: unknown = Reflect.get(target, prop, target);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    await t.h.db.updateTable('images').set({ location: 'nowhere', disk_format: 'raw' }).where('id', '=', IMAGE_ID).execute();
    const images = { get: async () => ({ id: IMAGE_ID, name: 'i', diskFormat: 'raw', containerFormat: 'bare', size: 0, virtualSize: 0, properties: {}, open: async () => Readable.from([]) }), remove: async (id: string) => {
      await t.h.db.updateTable('images').set({ deleted: 1, status: 'deleted' }).where('id', '=', id).execute();
    } };
    agent = createComputeAgent({ db: t.h.db, bus: t.h.bus, config, logger: silentLogger, driver, images });
    await agent.start();
    scheduler = createScheduler({ db: t.h.db, bus: t.h.bus, config, logger: silentLogger, identity: 'test:scheduler3' });
    await scheduler.start();
  });
  after(async () => {
    await scheduler.stop();
    await agent.stop();
    await t.close();
  });

  const act = (uuid: string, body: unknown) => t.call('POST', `/compute/v2.1/servers/${uuid}/action`, 'member-a', body);
  const settled = async (uuid: string) => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const row = await getInstance(t.h.db, uuid);
      if (row && row.task_state === null && row.vm_state !== 'building') return row;
      if (Date.now() > deadline) throw new Error(`server ${uuid} did not settle`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  it('each action ends with an Error event and a fault naming what is unsupported; the server keeps its state; console output is 501', async () => {
    const res = await t.call('POST', '/compute/v2.1/servers', 'member-a', SERVER({ name: 'vm' }));
    const uuid = str(res.body, 'server', 'id');
    assert.equal((await settled(uuid)).vm_state, 'active');
    const snap = await act(uuid, { createImage: { name: 'no' } });
    assert.equal(snap.status, 202);
    const loc = String(snap.headers['location'] ?? '');
    assert.equal((await settled(uuid)).vm_state, 'active');
    assert.equal((await latestInstanceFault(t.h.db, uuid))?.message, 'snapshot is not supported by the fake driver');
    const img = await t.h.db.selectFrom('images').select('deleted').where('id', '=', loc.slice(loc.lastIndexOf('/') + 1)).executeTakeFirst();
    assert.equal(img?.deleted, 1, 'the queued image is deleted');
    for (const [body, message] of [
      [{ rescue: null }, 'rescue is not supported by the fake driver'],
      [{ changePassword: { adminPass: 'x-Secret-9' } }, 'changePassword (set_admin_password) is not supported by the fake driver'],
      [{ shelve: null }, 'snapshot is not supported by the fake driver'],
    ] as const) {
      assert.ok([200, 202].includes((await act(uuid, body)).status));
      const row = await settled(uuid);
      assert.equal(row.vm_state, 'active', JSON.stringify(body));
      assert.equal(row.power_state, 1, `${JSON.stringify(body)}: still running`);
      assert.equal((await latestInstanceFault(t.h.db, uuid))?.message, message);
    }
    assert.deepEqual(await getSystemMetadata(t.h.db, uuid), {}, 'no password or image id left behind');
    const a = await latestInstanceAction(t.h.db, uuid, 'rescue');
    const events = await t.h.db.selectFrom('instance_action_events').select(['event', 'result']).where('action_id', '=', a?.id ?? -1).execute();
    assert.deepEqual(events, [{ event: 'compute_rescue_instance', result: 'Error' }]);
    const out = await act(uuid, { 'os-getConsoleOutput': { length: 5 } });
    assert.equal(out.status, 501);
    assert.equal(at(out.body, 'notImplemented', 'message'), 'Unable to get console log, functionality not implemented');
  });
});

describe('compute agent: shelved_offload_time > 0 offloads a shelved server once it is due', () => {
  let t: ComputeHarness;
  let agent: ComputeAgent;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pv-shelve4-'));
    t = await startHarness();
    const config = configFromText(`[DEFAULT]\nhost = c4\nreserved_host_memory_mb = 0\nshelved_offload_time = 1\nshelved_poll_interval = 1\n[fake]\nnodes = 1\n`).config;
    const driver = new FakeDriver({ ...config.fake, host: 'c4' });
    const store = new FileImageStore(dir);
    const put = await store.put(Readable.from([Buffer.alloc(4096)]));
    await t.h.db.updateTable('images').set({ location: put.location, disk_format: 'raw', size: put.size }).where('id', '=', IMAGE_ID).execute();
    agent = createComputeAgent({ db: t.h.db, bus: t.h.bus, config, logger: silentLogger, driver, images: createImageProvider(t.h.db, store) });
    await agent.start();
  });
  after(async () => {
    await agent.stop();
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('SHELVED first, SHELVED_OFFLOADED after the offload time, with a shelveOffload action', async () => {
    // Placed by hand (no scheduler here): an ACTIVE server on the agent's node.
    const res = await t.call('POST', '/compute/v2.1/servers', 'member-a', SERVER({ name: 'due' }));
    const uuid = str(res.body, 'server', 'id');
    const node = 'c4-fake-1';
    await t.h.db.updateTable('instances').set({ host: 'c4', node, availability_zone: 'nova', task_state: 'spawning' }).where('uuid', '=', uuid).execute();
    await t.h.bus.notify('instances', 'c4');
    const until = async (vm: string, ms: number) => {
      const deadline = Date.now() + ms;
      for (;;) {
        const row = await getInstance(t.h.db, uuid);
        if (row?.vm_state === vm && row.task_state === null) return row;
        if (Date.now() > deadline) throw new Error(`server did not reach ${vm}: ${row?.vm_state}/${String(row?.task_state)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await until('active', 5_000);
    assert.equal((await t.call('POST', `/compute/v2.1/servers/${uuid}/action`, 'member-a', { shelve: null })).status, 202);
    assert.equal((await until('shelved', 5_000)).host, 'c4');
    assert.equal((await until('shelved_offloaded', 5_000)).host, null);
    assert.ok(await latestInstanceAction(t.h.db, uuid, 'shelveOffload'));
  });
});
