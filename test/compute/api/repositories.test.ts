import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DatabaseHandle } from '../../../src/db/database.js';
import { listNodes, serversOnNodes } from '../../../src/db/repos/compute-admin.js';
import { addFlavorAccess, createFlavor, getFlavor, listFlavors, seedDefaultFlavors, setExtraSpecs, getExtraSpecs } from '../../../src/db/repos/flavors.js';
import { getInstance, insertInstances } from '../../../src/db/repos/instances.js';
import { insertKeypair, listKeypairs } from '../../../src/db/repos/keypairs.js';
import { computeUsage, defaultQuotas, projectQuotas, setProjectQuotas } from '../../../src/db/repos/quotas.js';
import { releaseAllocation } from '../../../src/db/repos/compute-nodes.js';
import { listServers, metadataOf, writeMetadata } from '../../../src/db/repos/server-queries.js';
import { DIALECTS } from '../../support/databases.js';
import { addComputeNode, instance } from './harness.js';

const QUOTA = { instances: 10, cores: 20, ram: 51200, metadata_items: 128, key_pairs: 2, injected_files: 5, injected_file_content_bytes: 10240, injected_file_path_length: 255, server_groups: 10, server_group_members: 10 };

for (const dialect of DIALECTS) {
  describe(`compute API repositories (${dialect.name})`, () => {
    let h: DatabaseHandle;
    before(async () => {
      h = await dialect.open();
    });
    after(async () => h.close());

    it('flavors: seed once, private visibility, extra specs', async () => {
      assert.equal(await seedDefaultFlavors(h.db), 5);
      assert.equal(await seedDefaultFlavors(h.db), 0);
      const priv = await createFlavor(h.db, { flavorid: 'p1', name: 'priv', description: null, vcpus: 1, memory_mb: 64, root_gb: 0, ephemeral_gb: 0, swap: 0, rxtx_factor: 1, is_public: false });
      assert.ok(priv.ok);
      const dup = await createFlavor(h.db, { flavorid: 'p1', name: 'other', description: null, vcpus: 1, memory_mb: 64, root_gb: 0, ephemeral_gb: 0, swap: 0, rxtx_factor: 1, is_public: true });
      assert.deepEqual(dup, { ok: false, duplicate: 'id' });
      const member = { isAdmin: false, projectId: 'p-a' };
      assert.equal(await getFlavor(h.db, 'p1', member), undefined);
      if (!priv.ok) return;
      assert.equal(await addFlavorAccess(h.db, priv.row.id, 'p-a'), true);
      assert.equal(await addFlavorAccess(h.db, priv.row.id, 'p-a'), false);
      assert.equal((await getFlavor(h.db, 'p1', member))?.name, 'priv');
      const visible = await listFlavors(h.db, member, { isPublic: true, includeDisabled: false }, { key: 'memory_mb', dir: 'asc' });
      assert.deepEqual(visible.map((f) => f.flavorid), ['p1', '1', '2', '3', '4', '5']);
      await setExtraSpecs(h.db, priv.row.id, { a: '1' });
      await setExtraSpecs(h.db, priv.row.id, { a: '2', b: '3' });
      assert.deepEqual(await getExtraSpecs(h.db, priv.row.id), { a: '2', b: '3' });
    });

    it('keypairs: quota and duplicates enforced under concurrency', async () => {
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) => insertKeypair(h.db, h.dialect, { name: `k${i}`, userId: 'u1', type: 'ssh', fingerprint: 'f', publicKey: 'ssh-rsa x' }, 2)),
      );
      assert.equal(results.filter((r) => r.ok).length, 2);
      assert.equal((await listKeypairs(h.db, 'u1')).length, 2);
      const dup = await insertKeypair(h.db, h.dialect, { name: 'k0', userId: 'u2', type: 'ssh', fingerprint: 'f', publicKey: 'p' }, -1);
      assert.ok(dup.ok, 'names are per user');
    });

    it('quotas and usage: overrides on defaults, usage from flavor snapshots', async () => {
      await setProjectQuotas(h.db, 'p-q', { instances: 3, ram: -1 });
      const q = await projectQuotas(h.db, defaultQuotas(QUOTA), 'p-q');
      assert.equal(q.instances, 3);
      assert.equal(q.ram, -1);
      assert.equal(q.cores, 20);
      await insertInstances(h.db, [
        instance({ project_id: 'p-q', flavor: JSON.stringify({ id: '3', vcpus: 2, memory_mb: 4096 }), deleted: 0 }),
        instance({ project_id: 'p-q', flavor: JSON.stringify({ id: '1', vcpus: 1, memory_mb: 512 }), deleted: 0 }),
        instance({ project_id: 'p-q', flavor: JSON.stringify({ id: '1', vcpus: 1, memory_mb: 512 }), deleted: 1 }),
      ]);
      assert.deepEqual(await computeUsage(h.db, h.dialect, 'p-q'), { instances: 2, cores: 3, ram: 4608 });
      assert.deepEqual(await computeUsage(h.db, h.dialect, 'p-none'), { instances: 0, cores: 0, ram: 0 });
    });

    it('server list: filters, regex names, keyset paging, batch metadata', async () => {
      const rows = Array.from({ length: 7 }, (_, i) =>
        instance({ project_id: 'p-l', display_name: `srv-${i % 3}`, created_at: `2026-02-01T00:00:0${i}.000Z`, task_state: i === 2 ? 'spawning' : null, flavor: JSON.stringify({ id: i < 2 ? '9' : '1' }) }),
      );
      await insertInstances(h.db, rows);
      await writeMetadata(h.db, rows[0]?.uuid ?? '', { a: '1', b: '2' }, false);
      await writeMetadata(h.db, rows[0]?.uuid ?? '', { c: '3' }, true);
      const sorts = [{ column: 'created_at', dir: 'desc' }, { column: 'uuid', dir: 'desc' }] as const;
      const seen: string[] = [];
      let marker;
      for (;;) {
        const page = await listServers(h.db, h.dialect, { projectId: 'p-l', deleted: 'no' }, sorts, 3, marker);
        seen.push(...page.map((r) => r.uuid));
        if (page.length < 3) break;
        marker = await getInstance(h.db, page[page.length - 1]?.uuid ?? '');
      }
      assert.deepEqual(seen, [...rows].reverse().map((r) => r.uuid));
      const byName = await listServers(h.db, h.dialect, { projectId: 'p-l', deleted: 'no', nameRegex: 'srv-[12]$' }, sorts, 100);
      assert.equal(byName.length, 4);
      const byFlavor = await listServers(h.db, h.dialect, { projectId: 'p-l', deleted: 'no', flavorId: '9' }, sorts, 100);
      assert.equal(byFlavor.length, 2);
      const idle = await listServers(h.db, h.dialect, { projectId: 'p-l', deleted: 'no', taskStates: [null] }, sorts, 100);
      assert.equal(idle.length, 6);
      const byNameAsc = await listServers(h.db, h.dialect, { projectId: 'p-l', deleted: 'no' }, [{ column: 'task_state', dir: 'asc' }, ...sorts], 100);
      assert.equal(byNameAsc[byNameAsc.length - 1]?.task_state, 'spawning', "null task states sort as ''");
      const meta = await metadataOf(h.db, rows.map((r) => r.uuid));
      assert.deepEqual(meta.get(rows[0]?.uuid ?? ''), { c: '3' });
      assert.equal(meta.size, 1);
    });

    it('compute admin: nodes with services, servers per node, allocation release', async () => {
      const { nodeId } = await addComputeNode(h, { host: 'rh1' });
      const nodes = await listNodes(h.db, { pattern: 'rh1' });
      assert.deepEqual(nodes.map((n) => [n.node.hypervisor_hostname, n.service.host]), [['rh1-node', 'rh1']]);
      const row = instance({ host: null, node: 'rh1-node', project_id: 'p-n' });
      await insertInstances(h.db, [row]);
      assert.deepEqual((await serversOnNodes(h.db, ['rh1-node'])).get('rh1-node')?.map((s) => s.uuid), [row.uuid]);
      await h.db.insertInto('allocations').values({ instance_uuid: row.uuid, node_id: nodeId, vcpus: 1, memory_mb: 512, disk_gb: 1, created_at: '2026-01-01T00:00:00Z' }).execute();
      await h.db.updateTable('compute_nodes').set({ vcpus_used: 1, memory_mb_used: 512, local_gb_used: 1 }).where('id', '=', nodeId).execute();
      await h.db.transaction().execute(async (trx) => releaseAllocation(trx, row.uuid));
      const n = await h.db.selectFrom('compute_nodes').selectAll().where('id', '=', nodeId).executeTakeFirstOrThrow();
      assert.deepEqual([n.vcpus_used, n.memory_mb_used, n.local_gb_used], [0, 0, 0]);
      await h.db.transaction().execute(async (trx) => releaseAllocation(trx, row.uuid));
      const again = await h.db.selectFrom('compute_nodes').selectAll().where('id', '=', nodeId).executeTakeFirstOrThrow();
      assert.equal(again.vcpus_used, 0, 'releasing twice gives back nothing more');
    });
  });
}
