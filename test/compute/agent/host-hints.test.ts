import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { DatabaseHandle } from '../../../src/db/database.js';
import { DIALECTS } from '../../support/databases.js';
import { TestCloud } from './harness.js';

for (const dialect of DIALECTS) {
  describe(`same_host / different_host placement (${dialect.name})`, () => {
    let h: DatabaseHandle;
    let cloud: TestCloud;
    beforeEach(async () => {
      h = await dialect.open();
      cloud = new TestCloud(h);
      for (const host of ['c1', 'c2', 'c3']) await cloud.addCompute(host);
      await cloud.addScheduler('s1');
    });
    afterEach(async () => {
      await cloud.stop();
      await h.close();
    });

    const hostOf = async (uuid: string) => (await cloud.settled(uuid)).host;

    it('same_host follows the named server; different_host avoids every named one', async () => {
      const [a = ''] = await cloud.createServers(1);
      const [b = ''] = await cloud.createServers(1, { schedulerHints: { different_host: [a] } });
      const [hostA, hostB] = [await hostOf(a), await hostOf(b)];
      assert.notEqual(hostB, hostA);
      for (let i = 0; i < 3; i++) {
        const [s = ''] = await cloud.createServers(1, { schedulerHints: { same_host: [b] } });
        assert.equal(await hostOf(s), hostB);
      }
      const [c = ''] = await cloud.createServers(1, { schedulerHints: { different_host: [a, b] } });
      assert.equal(await hostOf(c), ['c1', 'c2', 'c3'].find((x) => x !== hostA && x !== hostB));
    });

    it('a same_host naming no placed server fails with No valid host, naming the filter', async () => {
      const [s = ''] = await cloud.createServers(1, { schedulerHints: { same_host: ['00000000-0000-4000-8000-000000000000'] } });
      const row = await cloud.settled(s);
      assert.equal(row.vm_state, 'error');
      const fault = await h.db.selectFrom('instance_faults').select('message').where('instance_uuid', '=', s).executeTakeFirst();
      assert.match(fault?.message ?? '', /No valid host.*SameHostFilter removed 3 of 3/);
    });
  });
}
