import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DatabaseHandle } from '../../src/db/database.js';
import {
  addImageMember,
  deleteImage,
  findUsableImage,
  getImage,
  imageTags,
  insertImage,
  listImages,
  setImageMemberStatus,
  updateImage,
  type ImageListQuery,
  type NewImage,
} from '../../src/db/repos/images.js';
import { DIALECTS } from '../support/databases.js';

function image(n: number, over: Partial<NewImage> = {}): NewImage {
  const t = new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString();
  return {
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    name: `img-${String(n).padStart(2, '0')}`,
    status: 'queued',
    disk_format: 'raw',
    container_format: 'bare',
    visibility: 'private',
    protected: 0,
    owner: 'p-a',
    size: null,
    virtual_size: null,
    checksum: null,
    os_hash_algo: null,
    os_hash_value: null,
    min_disk: 0,
    min_ram: 0,
    properties: '{}',
    location: null,
    created_at: t,
    updated_at: t,
    deleted: 0,
    ...over,
  };
}

function query(over: Partial<ImageListQuery> = {}): ImageListQuery {
  return {
    viewer: { projectId: 'p-a', isAdmin: false },
    memberStatus: 'accepted',
    filters: [],
    tags: [],
    properties: {},
    osHidden: false,
    sort: [
      { key: 'created_at', dir: 'desc' },
      { key: 'id', dir: 'desc' },
    ],
    limit: 25,
    ...over,
  };
}

for (const dialect of DIALECTS) {
  describe(`image repository on ${dialect.name}`, () => {
    let h: DatabaseHandle;
    before(async () => {
      h = await dialect.open();
      for (let n = 1; n <= 30; n++) {
        await insertImage(
          h.db,
          image(n, {
            // Every third image has no name: NULLs must sort the same on both dialects.
            name: n % 3 === 0 ? null : `img-${String(n).padStart(2, '0')}`,
            size: n % 2 === 0 ? n * 1000 : null,
            owner: n <= 20 ? 'p-a' : 'p-b',
            visibility: n === 25 ? 'public' : n === 26 ? 'shared' : n === 27 ? 'community' : 'private',
            properties: JSON.stringify(n % 5 === 0 ? { hypervisor_type: 'vmware' } : {}),
          }),
          n % 4 === 0 ? ['four'] : [],
        );
      }
    });
    after(async () => {
      await h.close();
    });

    it('pages through every visible image exactly once, for several sort orders', async () => {
      const sorts: ImageListQuery['sort'][] = [
        [{ key: 'created_at', dir: 'desc' }, { key: 'id', dir: 'desc' }],
        [{ key: 'name', dir: 'asc' }, { key: 'id', dir: 'asc' }],
        [{ key: 'size', dir: 'desc' }, { key: 'name', dir: 'asc' }, { key: 'id', dir: 'asc' }],
      ];
      for (const sort of sorts) {
        const all = (await listImages(h.db, query({ sort, limit: 100 }))).rows.map((r) => r.id);
        assert.equal(all.length, 21, 'own 20 plus the public one');
        const paged: string[] = [];
        let marker;
        for (;;) {
          const page = await listImages(h.db, query({ sort, limit: 4, ...(marker ? { marker } : {}) }));
          paged.push(...page.rows.map((r) => r.id));
          if (!page.more) break;
          marker = page.rows[page.rows.length - 1];
        }
        assert.deepEqual(paged, all, JSON.stringify(sort));
      }
    });

    it('filters by visibility, membership, tags, size and custom properties', async () => {
      const ids = async (q: Partial<ImageListQuery>) => (await listImages(h.db, query({ limit: 100, ...q }))).rows.map((r) => Number(r.id.slice(-2)));
      assert.deepEqual(await ids({ viewer: { projectId: 'p-b', isAdmin: false } }), [30, 29, 28, 27, 26, 25, 24, 23, 22, 21], 'its own images of every visibility');
      assert.deepEqual(await ids({ viewer: { projectId: 'p-c', isAdmin: false } }), [25]);
      assert.deepEqual(await ids({ viewer: { projectId: 'p-c', isAdmin: false }, visibility: 'all' }), [27, 25]);
      await addImageMember(h.db, image(26).id, 'p-c');
      assert.deepEqual(await ids({ viewer: { projectId: 'p-c', isAdmin: false } }), [25]);
      assert.deepEqual(await ids({ viewer: { projectId: 'p-c', isAdmin: false }, memberStatus: 'pending' }), [26, 25]);
      await setImageMemberStatus(h.db, image(26).id, 'p-c', 'accepted');
      assert.deepEqual(await ids({ viewer: { projectId: 'p-c', isAdmin: false } }), [26, 25]);
      assert.ok(await findUsableImage(h.db, image(26).id, 'p-c', false));
      assert.equal(await findUsableImage(h.db, image(21).id, 'p-c', false), undefined);

      assert.deepEqual(await ids({ tags: ['four'] }), [20, 16, 12, 8, 4]);
      assert.deepEqual(await ids({ filters: [{ column: 'size', op: 'gte', value: 15000 }] }), [20, 18, 16]);
      assert.deepEqual(await ids({ properties: { hypervisor_type: 'vmware' } }), [25, 20, 15, 10, 5]);
      const page = await listImages(h.db, query({ properties: { hypervisor_type: 'vmware' }, limit: 2 }));
      assert.deepEqual(page.rows.map((r) => Number(r.id.slice(-2))), [25, 20]);
      assert.equal(page.more, true);
      assert.equal((await listImages(h.db, query({ viewer: { projectId: null, isAdmin: true }, limit: 100 }))).rows.length, 30);
    });

    it('guards status transitions and soft-deletes with tags and members', async () => {
      const id = image(26).id;
      assert.ok(await updateImage(h.db, id, ['queued'], { status: 'saving' }));
      assert.equal(await updateImage(h.db, id, ['queued'], { status: 'saving' }), undefined, 'the second writer loses');
      const removed = await deleteImage(h.db, id);
      assert.equal(removed?.status, 'deleted');
      assert.equal(await getImage(h.db, id), undefined);
      assert.equal(await updateImage(h.db, id, ['saving'], { status: 'active' }), undefined);
      assert.deepEqual((await imageTags(h.db, [id])).get(id), []);
      assert.equal(await findUsableImage(h.db, id, 'p-c', false), undefined);
    });
  });
}
