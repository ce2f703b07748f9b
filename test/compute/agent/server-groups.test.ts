import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { DatabaseHandle } from '../../../src/db/database.js';
import { createServerGroup, type GroupPolicy } from '../../../src/db/repos/server-groups.js';
import { DIALECTS } from '../../support/databases.js';
import { TestCloud } from './harness.js';

for (const dialect of DIALECTS) {
  describe(`server group placement (${dialect.name})`, () => {
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

    async function group(policy: GroupPolicy, rules: Record<string, number> = {}): Promise<string> {
      return (await createServerGroup(h.db, { name: policy, projectId: 'project-a', userId: 'user-a', policy, rules })).row.uuid;
    }

    async function hostsOf(uuids: readonly string[]): Promise<(string | null)[]> {
      const out: (string | null)[] = [];
      for (const u of uuids) out.push((await cloud.settled(u)).host);
      return out;
    }

    it('affinity puts every member on the first member\'s host (one request and a later one)', async () => {
      const g = await group('affinity');
      const first = await hostsOf(await cloud.createServers(2, { group: g }));
      const later = await hostsOf(await cloud.createServers(1, { group: g }));
      assert.equal(new Set([...first, ...later]).size, 1, `all on one host: ${[...first, ...later].join(', ')}`);
    });

    it('anti-affinity spreads members; a fourth member on three hosts fails with No valid host', async () => {
      const g = await group('anti-affinity');
      const placed = await hostsOf(await cloud.createServers(3, { group: g }));
      assert.deepEqual([...placed].sort(), ['c1', 'c2', 'c3']);
      const [extra = ''] = await cloud.createServers(1, { group: g });
      const row = await cloud.settled(extra);
      assert.equal(row.vm_state, 'error');
      const fault = await h.db.selectFrom('instance_faults').select('message').where('instance_uuid', '=', extra).executeTakeFirst();
      assert.match(fault?.message ?? '', /No valid host.*ServerGroupAntiAffinityFilter removed 3 of 3/);
    });

    it('anti-affinity with max_server_per_host 2 allows two members per host', async () => {
      const g = await group('anti-affinity', { max_server_per_host: 2 });
      const placed = await hostsOf(await cloud.createServers(6, { group: g }));
      const counts = new Map<string, number>();
      for (const p of placed) counts.set(p ?? '', (counts.get(p ?? '') ?? 0) + 1);
      assert.deepEqual([...counts.values()], [2, 2, 2]);
    });

    it('soft-affinity stacks and soft-anti-affinity spreads, without failing when they cannot', async () => {
      const soft = await group('soft-affinity');
      assert.equal(new Set(await hostsOf(await cloud.createServers(3, { group: soft }))).size, 1);
      const spread = await group('soft-anti-affinity');
      const placed = await hostsOf(await cloud.createServers(4, { group: spread }));
      assert.equal(new Set(placed.slice(0, 3)).size, 3, 'the first three spread over the three hosts');
      assert.ok(placed[3] !== null, 'a fourth member still gets a host');
    });
  });
}
