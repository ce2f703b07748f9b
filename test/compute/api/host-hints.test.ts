import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestCloud } from '../agent/harness.js';
import { IMAGE_ID, startHarness, str, type ComputeHarness } from './harness.js';

/** The different_host / same_host scheduler hints end to end: API, scheduler, two fake hosts. */
describe('compute API: different_host and same_host hints', () => {
  let t: ComputeHarness;
  let cloud: TestCloud;
  before(async () => {
    t = await startHarness('[DEFAULT]\nreserved_host_memory_mb = 0\n');
    cloud = new TestCloud(t.h);
    cloud.images.ids.add(IMAGE_ID);
    await cloud.addCompute('cmp1');
    await cloud.addCompute('cmp2');
    await cloud.addScheduler('sched');
  });
  after(async () => {
    await cloud.stop();
    await t.close();
  });

  const create = async (hints?: Record<string, unknown>) => {
    const res = await t.call('POST', '/compute/v2.1/servers', 'member-a', { server: { name: 'vm', imageRef: IMAGE_ID, flavorRef: '1', networks: 'none' }, ...(hints ? { 'os:scheduler_hints': hints } : {}) });
    assert.equal(res.status, 202, res.text);
    const id = str(res.body, 'server', 'id');
    return cloud.waitFor(`server ${id} placed`, async () => {
      const row = await t.h.db.selectFrom('instances').select(['host', 'vm_state']).where('uuid', '=', id).executeTakeFirstOrThrow();
      if (row.vm_state === 'error') throw new Error(`server ${id} went to ERROR`);
      return row.vm_state === 'active' && row.host !== null ? { id, host: row.host } : undefined;
    });
  };

  it('puts a server with different_host on another host, and one with same_host beside it', async () => {
    const a = await create();
    for (let i = 0; i < 3; i++) {
      const b = await create({ different_host: a.id });
      assert.notEqual(b.host, a.host);
      const c = await create({ same_host: [a.id] });
      assert.equal(c.host, a.host);
    }
  });

  it('refuses a hint that is not a server uuid with 400 and creates nothing', async () => {
    const count = async () => (await t.h.db.selectFrom('instances').select('uuid').execute()).length;
    const before = await count();
    const res = await t.call('POST', '/compute/v2.1/servers', 'member-a', { server: { name: 'vm', imageRef: IMAGE_ID, flavorRef: '1', networks: 'none' }, 'os:scheduler_hints': { different_host: 'not-a-uuid' } });
    assert.equal(res.status, 400, res.text);
    assert.match(str(res.body, 'badRequest', 'message'), /^Invalid input for field\/attribute different_host\./);
    assert.equal(await count(), before);
  });
});
