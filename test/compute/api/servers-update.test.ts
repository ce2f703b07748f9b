import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { insertInstances } from '../../../src/db/repos/instances.js';
import { addComputeNode, instance, startHarness, type ComputeHarness } from './harness.js';

describe('compute API: PUT /servers/{id} response body', () => {
  let t: ComputeHarness;
  let uuid = '';
  before(async () => {
    t = await startHarness();
    await addComputeNode(t.h, { host: 'cmp1' });
    const row = instance();
    await insertInstances(t.h.db, [row]);
    uuid = row.uuid;
  });
  after(async () => t.close());

  const put = (version: string) =>
    t.call('PUT', `/compute/v2.1/servers/${uuid}`, 'admin', { server: { name: `renamed-${version}` } }, { 'OpenStack-API-Version': `compute ${version}` });

  it('leaves out the extension attributes before 2.75, as Nova (and tempest’s update schema) do', async () => {
    const res = await put('2.1');
    assert.equal(res.status, 200, res.text);
    const server = (res.body as { server: Record<string, unknown> }).server;
    assert.equal(server['name'], 'renamed-2.1');
    assert.deepEqual(Object.keys(server).sort(), [
      'OS-DCF:diskConfig', 'accessIPv4', 'accessIPv6', 'addresses', 'created', 'flavor', 'hostId', 'id', 'image', 'links', 'metadata', 'name', 'progress', 'status', 'tenant_id', 'updated', 'user_id',
    ]);
    const at16 = (await put('2.16')).body as { server: Record<string, unknown> };
    assert.equal(at16.server['locked'], false, '2.9 adds locked to the update view too');
    assert.equal(at16.server['host_status'], undefined);
  });

  it('still shows them on GET', async () => {
    const res = await t.call('GET', `/compute/v2.1/servers/${uuid}`, 'admin');
    const server = (res.body as { server: Record<string, unknown> }).server;
    for (const k of ['OS-EXT-STS:vm_state', 'OS-EXT-AZ:availability_zone', 'OS-SRV-USG:launched_at', 'security_groups', 'key_name', 'OS-EXT-SRV-ATTR:host']) assert.ok(k in server, k);
  });
});
