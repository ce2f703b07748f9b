import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { insertInstances } from '../../../src/db/repos/instances.js';
import { addComputeNode, addImage, at, IMAGE_ID, instance, SERVER, startHarness, str, type ComputeHarness } from './harness.js';

const AUTO_IMAGE = '22222222-2222-4222-8222-222222222222';
const NO_AUTO_IMAGE = '33333333-3333-4333-8333-333333333333';

describe('compute API: OS-DCF:diskConfig and the same_host / different_host hints', () => {
  let t: ComputeHarness;
  before(async () => {
    t = await startHarness();
    await addComputeNode(t.h, { host: 'cmp1' });
    await addImage(t.h, AUTO_IMAGE);
    await addImage(t.h, NO_AUTO_IMAGE);
    await t.h.db.updateTable('images').set({ properties: '{"auto_disk_config":"True"}' }).where('id', '=', AUTO_IMAGE).execute();
    await t.h.db.updateTable('images').set({ properties: '{"auto_disk_config":"disabled"}' }).where('id', '=', NO_AUTO_IMAGE).execute();
  });
  after(async () => t.close());

  const show = async (id: string) => at((await t.call('GET', `/compute/v2.1/servers/${id}`, 'member-a')).body, 'server', 'OS-DCF:diskConfig');
  const stored = async (id: string) => (await t.h.db.selectFrom('instances').select(['auto_disk_config', 'scheduler_hints']).where('uuid', '=', id).executeTakeFirstOrThrow());

  it('keeps the diskConfig asked on create, defaults from the image, and refuses what Nova refuses', async () => {
    const auto = await t.call('POST', '/compute/v2.1/servers', 'member-a', SERVER({ 'OS-DCF:diskConfig': 'AUTO' }));
    assert.equal(auto.status, 202, auto.text);
    assert.equal(at(auto.body, 'server', 'OS-DCF:diskConfig'), 'AUTO');
    assert.equal(await show(str(auto.body, 'server', 'id')), 'AUTO');

    const plain = await t.call('POST', '/compute/v2.1/servers', 'member-a', SERVER());
    assert.equal(await show(str(plain.body, 'server', 'id')), 'MANUAL');
    const fromImage = await t.call('POST', '/compute/v2.1/servers', 'member-a', SERVER({ imageRef: AUTO_IMAGE }));
    assert.equal(await show(str(fromImage.body, 'server', 'id')), 'AUTO', 'image auto_disk_config=True makes AUTO the default');

    const before = (await t.h.db.selectFrom('instances').select('uuid').execute()).length;
    const bad = await t.call('POST', '/compute/v2.1/servers', 'member-a', SERVER({ 'OS-DCF:diskConfig': 'auto' }));
    assert.equal(bad.status, 400);
    assert.match(str(bad.body, 'badRequest', 'message'), /OS-DCF:diskConfig/);
    const disabled = await t.call('POST', '/compute/v2.1/servers', 'member-a', SERVER({ imageRef: NO_AUTO_IMAGE, 'OS-DCF:diskConfig': 'AUTO' }));
    assert.equal(disabled.status, 400);
    assert.equal(str(disabled.body, 'badRequest', 'message'), `Requested image ${NO_AUTO_IMAGE} has automatic disk resize disabled.`);
    assert.equal((await t.h.db.selectFrom('instances').select('uuid').execute()).length, before, 'nothing stored');
  });

  it('changes it with PUT and rebuild', async () => {
    const row = instance({ project_id: 'p-a' });
    await insertInstances(t.h.db, [row]);
    const put = await t.call('PUT', `/compute/v2.1/servers/${row.uuid}`, 'member-a', { server: { 'OS-DCF:diskConfig': 'AUTO' } });
    assert.equal(put.status, 200, put.text);
    assert.equal(at(put.body, 'server', 'OS-DCF:diskConfig'), 'AUTO');
    const badPut = await t.call('PUT', `/compute/v2.1/servers/${row.uuid}`, 'member-a', { server: { 'OS-DCF:diskConfig': 'NONE' } });
    assert.equal(badPut.status, 400);
    assert.equal((await stored(row.uuid)).auto_disk_config, 1);

    const rebuild = await t.call('POST', `/compute/v2.1/servers/${row.uuid}/action`, 'member-a', { rebuild: { imageRef: IMAGE_ID, 'OS-DCF:diskConfig': 'MANUAL' } });
    assert.equal(rebuild.status, 202, rebuild.text);
    assert.equal(await show(row.uuid), 'MANUAL');
  });

  it('refuses a resize asking AUTO when the server\'s image has automatic disk resize disabled, changing nothing', async () => {
    const row = instance({ project_id: 'p-a', image_ref: NO_AUTO_IMAGE, host: 'cmp1', node: 'cmp1', vm_state: 'active', power_state: 1 });
    await insertInstances(t.h.db, [row]);
    const res = await t.call('POST', `/compute/v2.1/servers/${row.uuid}/action`, 'member-a', { resize: { flavorRef: '2', 'OS-DCF:diskConfig': 'AUTO' } });
    assert.equal(res.status, 400, res.text);
    assert.equal(str(res.body, 'badRequest', 'message'), `Requested image ${NO_AUTO_IMAGE} has automatic disk resize disabled.`);
    const after = await t.h.db.selectFrom('instances').select(['task_state', 'flavor', 'auto_disk_config']).where('uuid', '=', row.uuid).executeTakeFirstOrThrow();
    assert.deepEqual([after.task_state, (JSON.parse(after.flavor) as { id: string }).id, after.auto_disk_config], [null, '1', 0]);
  });

  it('stores same_host / different_host hints as lists of server uuids and refuses anything else', async () => {
    const a = '6f1b4c1e-8a39-4e8e-9a54-1a3e7c0c2f11';
    const b = '7f1b4c1e-8a39-4e8e-9a54-1a3e7c0c2f12';
    const res = await t.call('POST', '/compute/v2.1/servers', 'member-a', { ...SERVER(), 'os:scheduler_hints': { same_host: a, different_host: [a, b] } });
    assert.equal(res.status, 202, res.text);
    assert.deepEqual(JSON.parse((await stored(str(res.body, 'server', 'id'))).scheduler_hints ?? 'null'), { same_host: [a], different_host: [a, b] });
    const none = await t.call('POST', '/compute/v2.1/servers', 'member-a', SERVER());
    assert.equal((await stored(str(none.body, 'server', 'id'))).scheduler_hints, null);
    for (const hint of [{ same_host: 'not-a-uuid' }, { different_host: [a, 42] }]) {
      const bad = await t.call('POST', '/compute/v2.1/servers', 'member-a', { ...SERVER(), 'os:scheduler_hints': hint });
      assert.equal(bad.status, 400, JSON.stringify(hint));
      assert.match(str(bad.body, 'badRequest', 'message'), /Invalid input for field\/attribute (same_host|different_host)/);
    }
  });
});
