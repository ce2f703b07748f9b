import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { insertInstances } from '../../../src/db/repos/instances.js';
import { addComputeNode, at, instance, list, startHarness, str, type ComputeHarness } from './harness.js';

describe('compute API: os-resetState', () => {
  let t: ComputeHarness;
  before(async () => {
    t = await startHarness();
    await addComputeNode(t.h, { host: 'cmp1' });
  });
  after(async () => t.close());

  const make = async (o: Parameters<typeof instance>[0] = {}) => {
    const row = instance(o);
    await insertInstances(t.h.db, [row]);
    return row.uuid;
  };
  const row = async (uuid: string) => t.h.db.selectFrom('instances').selectAll().where('uuid', '=', uuid).executeTakeFirstOrThrow();
  const act = (uuid: string, body: unknown, token = 'admin') => t.call('POST', `/compute/v2.1/servers/${uuid}/action`, token, body);

  it('lets an admin set error then active from any state, clearing the task, even when locked', async () => {
    const uuid = await make({ vm_state: 'active', task_state: 'powering-off', locked: 1 });
    assert.equal((await act(uuid, { 'os-resetState': { state: 'error' } })).status, 202);
    const errored = await row(uuid);
    assert.deepEqual([errored.vm_state, errored.task_state], ['error', null]);
    const shown = await t.call('GET', `/compute/v2.1/servers/${uuid}`, 'member-a');
    assert.equal(str(shown.body, 'server', 'status'), 'ERROR');
    const listed = await t.call('GET', '/compute/v2.1/servers?status=ERROR', 'member-a');
    assert.ok(list(listed.body, 'servers').some((s) => at(s, 'id') === uuid), 'listed under status=ERROR');
    assert.equal((await act(uuid, { 'os-resetState': { state: 'active' } })).status, 202);
    assert.equal((await row(uuid)).vm_state, 'active');
    const actions = await t.call('GET', `/compute/v2.1/servers/${uuid}/os-instance-actions`, 'admin');
    assert.equal(at(actions.body, 'instanceActions', 0, 'action'), 'resetState');
  });

  it('refuses members (403) and bad bodies (400), changing nothing', async () => {
    const uuid = await make();
    assert.equal((await act(uuid, { 'os-resetState': { state: 'error' } }, 'member-a')).status, 403);
    const cases: [unknown, RegExp][] = [
      [{ 'os-resetState': { state: 'invalid' } }, /is not one of \['active', 'error'\]/],
      [{ 'os-resetState': {} }, /'state' is a required property/],
      [{ 'os-resetState': { state: 'error', now: true } }, /'now' was unexpected/],
      [{ 'os-resetState': null }, /is not of type 'object'/],
    ];
    for (const [body, message] of cases) {
      const res = await act(uuid, body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.match(str(res.body, 'badRequest', 'message'), message);
    }
    const r = await row(uuid);
    assert.deepEqual([r.vm_state, r.task_state], ['active', null]);
  });

  it('answers 404 for a server that does not exist', async () => {
    const res = await act('00000000-0000-4000-8000-000000000000', { 'os-resetState': { state: 'error' } });
    assert.equal(res.status, 404);
  });
});
