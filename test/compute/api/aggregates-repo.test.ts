import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DatabaseHandle } from '../../../src/db/database.js';
import { addAggregateHost, createAggregate, removeAggregateHost, zoneOfHost, zonedHosts } from '../../../src/db/repos/aggregates.js';
import { DIALECTS } from '../../support/databases.js';
import { addComputeNode } from './harness.js';

for (const dialect of DIALECTS) {
  describe(`aggregates repository (${dialect.name})`, () => {
    let h: DatabaseHandle;
    before(async () => {
      h = await dialect.open();
      await addComputeNode(h, { host: 'k1' });
      await addComputeNode(h, { host: 'k2', node: 'k2-a' });
    });
    after(async () => h.close());

    it('gives a host the zone of its aggregate, rewrites its nodes in the same change, and the default otherwise', async () => {
      assert.equal(await zoneOfHost(h.db, 'k1', 'nova'), 'nova');
      const agg = await createAggregate(h.db, h.dialect, 'nova', { name: 'kvm', zone: 'kvm-zone' });
      assert.ok(agg.ok);
      if (!agg.ok) return;
      const added = await addAggregateHost(h.db, h.dialect, 'nova', agg.aggregate.row.id, 'k2');
      assert.ok(added.ok);
      assert.deepEqual(added.ok ? added.changedNodes : [], ['k2-a']);
      assert.equal(await zoneOfHost(h.db, 'k2', 'nova'), 'kvm-zone');
      assert.deepEqual([...(await zonedHosts(h.db))], [['k2', 'kvm-zone']]);
      const node = await h.db.selectFrom('compute_nodes').select('availability_zone').where('hypervisor_hostname', '=', 'k2-a').executeTakeFirstOrThrow();
      assert.equal(node.availability_zone, 'kvm-zone');
      const other = await createAggregate(h.db, h.dialect, 'nova', { name: 'other', zone: 'elsewhere' });
      assert.ok(other.ok);
      if (!other.ok) return;
      const refused = await addAggregateHost(h.db, h.dialect, 'nova', other.aggregate.row.id, 'k2');
      assert.deepEqual(refused, { ok: false, reason: 'zone_conflict', zones: ['kvm-zone'] });
      const removed = await removeAggregateHost(h.db, h.dialect, 'nova', agg.aggregate.row.id, 'k2');
      assert.deepEqual(removed.ok ? removed.changedNodes : [], ['k2-a']);
      assert.equal(await zoneOfHost(h.db, 'k2', 'nova'), 'nova');
    });

    it('refuses a duplicate name even when two creates race', async () => {
      const results = await Promise.all([1, 2, 3].map(() => createAggregate(h.db, h.dialect, 'nova', { name: 'race', zone: null })));
      assert.equal(results.filter((r) => r.ok).length, 1);
      assert.deepEqual(results.filter((r) => !r.ok).map((r) => !r.ok && r.reason), ['duplicate', 'duplicate']);
    });
  });
}
