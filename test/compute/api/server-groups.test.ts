import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { IMAGE_ID, at, list, startHarness, str, type ComputeHarness } from './harness.js';

const V = (v: string) => ({ 'OpenStack-API-Version': `compute ${v}` });
const SG = '/compute/v2.1/os-server-groups';

describe('compute API: server groups, per-user quotas and quota classes', () => {
  let t: ComputeHarness;
  before(async () => {
    t = await startHarness('[quota]\nserver_groups = 3\nserver_group_members = 2\n');
  });
  after(async () => t.close());

  it('creates, shows, lists and deletes with the fields of each microversion', async () => {
    const old = await t.call('POST', SG, 'member-a', { server_group: { name: 'web', policies: ['anti-affinity'] } });
    assert.equal(old.status, 200);
    const g = at(old.body, 'server_group');
    assert.deepEqual(Object.keys(g as object).sort(), ['id', 'members', 'metadata', 'name', 'policies']);
    assert.deepEqual(at(g, 'policies'), ['anti-affinity']);
    const id = str(g, 'id');
    const v213 = at((await t.call('GET', `${SG}/${id}`, 'member-a', undefined, V('2.13'))).body, 'server_group');
    assert.equal(at(v213, 'project_id'), 'p-a');
    assert.equal(at(v213, 'user_id'), 'u-a');
    const v264 = at((await t.call('GET', `${SG}/${id}`, 'member-a', undefined, V('2.64'))).body, 'server_group');
    assert.equal(at(v264, 'policy'), 'anti-affinity');
    assert.deepEqual(at(v264, 'rules'), {});
    assert.equal(at(v264, 'policies'), undefined);
    assert.equal(at(v264, 'metadata'), undefined);
    // Another project sees nothing; an admin with all_projects sees it.
    assert.equal((await t.call('GET', `${SG}/${id}`, 'member-b')).status, 404);
    assert.deepEqual(list((await t.call('GET', SG, 'member-b')).body, 'server_groups'), []);
    assert.equal(list((await t.call('GET', `${SG}?all_projects=True`, 'admin')).body, 'server_groups').length, 1);
    assert.equal((await t.call('DELETE', `${SG}/${id}`, 'member-b')).status, 404);
    assert.equal((await t.call('DELETE', `${SG}/${id}`, 'member-a')).status, 204);
    const gone = await t.call('GET', `${SG}/${id}`, 'member-a');
    assert.equal(gone.status, 404);
    assert.equal(at(gone.body, 'itemNotFound', 'message'), `Instance group ${id} could not be found.`);
  });

  it('refuses bad policies and rules with a 400 that names them, and stores nothing', async () => {
    const cases: [string, unknown, Record<string, string>, RegExp][] = [
      ['soft policy before 2.15', { name: 'x', policies: ['soft-affinity'] }, V('2.14'), /policies/],
      ['two policies', { name: 'x', policies: ['affinity', 'anti-affinity'] }, V('2.1'), /exactly one policy/],
      ['unknown policy', { name: 'x', policy: 'near' }, V('2.64'), /policy.*is not one of/],
      ['policies at 2.64', { name: 'x', policies: ['affinity'] }, V('2.64'), /'policies' was unexpected/],
      ['rules on affinity', { name: 'x', policy: 'affinity', rules: { max_server_per_host: 2 } }, V('2.64'), /Only anti-affinity policy supports rules/],
      ['zero per host', { name: 'x', policy: 'anti-affinity', rules: { max_server_per_host: 0 } }, V('2.64'), /max_server_per_host/],
      ['no name', { policies: ['affinity'] }, V('2.1'), /'name' is a required property/],
    ];
    for (const [what, body, headers, message] of cases) {
      const res = await t.call('POST', SG, 'member-a', { server_group: body }, headers);
      assert.equal(res.status, 400, what);
      assert.match(str(res.body, 'badRequest', 'message'), message, what);
    }
    assert.deepEqual(list((await t.call('GET', SG, 'member-a')).body, 'server_groups'), []);
    const ok = await t.call('POST', SG, 'member-a', { server_group: { name: 'x', policy: 'anti-affinity', rules: { max_server_per_host: 3 } } }, V('2.64'));
    assert.deepEqual(at(ok.body, 'server_group', 'rules'), { max_server_per_host: 3 });
    await t.call('DELETE', `${SG}/${str(ok.body, 'server_group', 'id')}`, 'member-a');
  });

  it('enforces the server_groups quota (403) and counts groups in limits', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(str((await t.call('POST', SG, 'member-a', { server_group: { name: `g${i}`, policies: ['affinity'] } })).body, 'server_group', 'id'));
    const over = await t.call('POST', SG, 'member-a', { server_group: { name: 'g4', policies: ['affinity'] } });
    assert.equal(over.status, 403);
    assert.equal(str(over.body, 'forbidden', 'message'), 'Quota exceeded, too many server groups.');
    assert.equal(at((await t.call('GET', '/compute/v2.1/limits', 'member-a')).body, 'limits', 'absolute', 'totalServerGroupsUsed'), 3);
    for (const id of ids) await t.call('DELETE', `${SG}/${id}`, 'member-a');
  });

  it('adds servers created with the group hint as members, within server_group_members', async () => {
    const g = str((await t.call('POST', SG, 'member-a', { server_group: { name: 'db', policies: ['affinity'] } })).body, 'server_group', 'id');
    const server = (extra: Record<string, unknown>) => ({ server: { name: 's', imageRef: IMAGE_ID, flavorRef: '1', ...extra }, 'os:scheduler_hints': { group: g } });
    const created = await t.call('POST', '/compute/v2.1/servers', 'member-a', server({ min_count: 2 }));
    assert.equal(created.status, 202);
    assert.equal(list((await t.call('GET', `${SG}/${g}`, 'member-a')).body, 'server_group', 'members').length, 2);
    const over = await t.call('POST', '/compute/v2.1/servers', 'member-a', server({}));
    assert.equal(over.status, 403);
    assert.equal(str(over.body, 'forbidden', 'message'), 'Quota exceeded, too many servers in group');
    const bad = await t.call('POST', '/compute/v2.1/servers', 'member-a', { server: { name: 's', imageRef: IMAGE_ID, flavorRef: '1' }, 'os:scheduler_hints': { group: 'not-a-uuid' } });
    assert.equal(bad.status, 400);
    const other = await t.call('POST', '/compute/v2.1/servers', 'member-b', { server: { name: 's', imageRef: IMAGE_ID, flavorRef: '1' }, 'os:scheduler_hints': { group: g } });
    assert.equal(other.status, 400);
    assert.equal(str(other.body, 'badRequest', 'message'), `Instance group ${g} could not be found.`);
    // A deleted server leaves the group.
    const member = str(list((await t.call('GET', `${SG}/${g}`, 'member-a')).body, 'server_group', 'members'), 0);
    await t.h.db.updateTable('instances').set({ deleted: 1 }).where('uuid', '=', member).execute();
    assert.equal(list((await t.call('GET', `${SG}/${g}`, 'member-a')).body, 'server_group', 'members').length, 1);
  });

  it('keeps per-user quotas below the project limit and enforces them on create', async () => {
    const url = '/compute/v2.1/os-quota-sets/p-b?user_id=u-b';
    const tooHigh = await t.call('PUT', url, 'admin', { quota_set: { instances: 1000 } });
    assert.equal(tooHigh.status, 400);
    assert.match(str(tooHigh.body, 'badRequest', 'message'), /Quota limit 1000 for instances must be less than or equal to 10\./);
    const set = await t.call('PUT', url, 'admin', { quota_set: { instances: 1 } });
    assert.equal(at(set.body, 'quota_set', 'instances'), 1);
    assert.equal(at((await t.call('GET', url, 'admin')).body, 'quota_set', 'instances'), 1);
    assert.equal(at((await t.call('GET', '/compute/v2.1/os-quota-sets/p-b', 'admin')).body, 'quota_set', 'instances'), 10);
    const body = { server: { name: 's', imageRef: IMAGE_ID, flavorRef: '1' } };
    assert.equal((await t.call('POST', '/compute/v2.1/servers', 'member-b', body)).status, 202);
    const over = await t.call('POST', '/compute/v2.1/servers', 'member-b', body);
    assert.equal(over.status, 403);
    assert.match(str(over.body, 'forbidden', 'message'), /Quota exceeded for instances/);
    assert.equal((await t.call('DELETE', url, 'admin')).status, 202);
    assert.equal(at((await t.call('GET', url, 'admin')).body, 'quota_set', 'instances'), 10);
  });

  it('quota classes: the default class changes the defaults; fields follow 2.50 and 2.57', async () => {
    const url = '/compute/v2.1/os-quota-class-sets/default';
    assert.equal((await t.call('GET', url, 'member-a')).status, 403);
    const shown = at((await t.call('GET', url, 'admin')).body, 'quota_class_set');
    assert.equal(at(shown, 'id'), 'default');
    assert.equal(at(shown, 'server_groups'), undefined);
    assert.equal(at(shown, 'floating_ips'), 10);
    const put = await t.call('PUT', url, 'admin', { quota_class_set: { cores: 99 } });
    assert.equal(at(put.body, 'quota_class_set', 'cores'), 99);
    assert.equal(at((await t.call('GET', '/compute/v2.1/os-quota-sets/p-a/defaults', 'admin')).body, 'quota_set', 'cores'), 99);
    const v257 = at((await t.call('GET', url, 'admin', undefined, V('2.57'))).body, 'quota_class_set');
    assert.equal(at(v257, 'server_groups'), 3);
    assert.equal(at(v257, 'injected_files'), undefined);
    assert.equal(at(v257, 'floating_ips'), undefined);
    const bad = await t.call('PUT', url, 'admin', { quota_class_set: { floating_ips: 1 } }, V('2.57'));
    assert.equal(bad.status, 400);
    await t.call('PUT', url, 'admin', { quota_class_set: { cores: 20 } });
  });
});
