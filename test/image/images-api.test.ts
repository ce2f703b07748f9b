import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PATCH, startImageApi, type ImageHarness } from './harness.js';

describe('Image API v2: images', () => {
  let h: ImageHarness;
  before(async () => {
    h = await startImageApi();
  });
  after(async () => {
    await h.close();
  });

  it('answers version discovery without a token', async () => {
    const root = await h.app.inject({ method: 'GET', url: '/image/' });
    assert.equal(root.statusCode, 300);
    const versions = root.json<{ versions: { id: string; status: string; links: { href: string }[] }[] }>().versions;
    assert.deepEqual(versions.map((v) => v.id).slice(-2), ['v2.1', 'v2.0']);
    assert.equal(versions.find((v) => v.status === 'CURRENT')?.links[0]?.href, 'http://polyvisor.test:8774/image/v2/');
    const list = await h.app.inject({ method: 'GET', url: '/image/versions' });
    assert.equal(list.statusCode, 200);
  });

  it('creates a queued image with custom properties, a chosen id and Glance fields', async () => {
    const id = '0b1e6c3e-5f4e-4c55-9d2c-1f0f5d0b7a11';
    const res = await h.call('member-a', 'POST', '/image/v2/images', {
      id,
      name: 'cirros',
      disk_format: 'vmdk',
      container_format: 'bare',
      min_ram: 64,
      tags: ['boot', 'small'],
      vmware_adaptertype: 'ide',
    });
    assert.equal(res.statusCode, 201);
    assert.equal(res.headers.location, `http://polyvisor.test:8774/image/v2/images/${id}`);
    const img = res.json<Record<string, unknown>>();
    assert.equal(img['id'], id);
    assert.equal(img['status'], 'queued');
    assert.equal(img['visibility'], 'shared');
    assert.equal(img['owner'], 'p-a');
    assert.equal(img['vmware_adaptertype'], 'ide');
    assert.deepEqual(img['tags'], ['boot', 'small']);
    for (const key of ['checksum', 'os_hash_algo', 'os_hash_value', 'size', 'virtual_size']) assert.equal(img[key], null, key);
    assert.equal(img['self'], `/v2/images/${id}`);
    assert.equal(img['file'], `/v2/images/${id}/file`);
    assert.equal(img['schema'], '/v2/schemas/image');
    assert.match(String(img['created_at']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    const again = await h.call('member-a', 'POST', '/image/v2/images', { id, name: 'dup' });
    assert.equal(again.statusCode, 409);
    const shown = await h.call('member-a', 'GET', `/image/v2/images/${id}`);
    assert.equal(shown.json<{ name: string }>().name, 'cirros');
  });

  it('refuses bad create bodies with Glance status codes and stores nothing', async () => {
    const cases: [Record<string, unknown>, number, RegExp][] = [
      [{ disk_format: 'vmdkx' }, 400, /disk_format/],
      [{ container_format: 'zip' }, 400, /container_format/],
      [{ name: 'x'.repeat(256) }, 400, /name/],
      [{ min_ram: -1 }, 400, /min_ram/],
      [{ protected: 'yes' }, 400, /protected/],
      [{ custom: 5 }, 400, /custom/],
      [{ custom: 'v'.repeat(256) }, 400, /custom/],
      [{ id: 'not-a-uuid' }, 400, /UUID/],
      [{ status: 'active' }, 403, /'status' is read-only/],
      [{ checksum: 'abc' }, 403, /read-only/],
      [{ self: '/x' }, 403, /read-only/],
      [{ deleted: true }, 403, /reserved/],
      [{ os_glance_x: 'y' }, 403, /reserved/],
      [{ visibility: 'public' }, 403, /public/],
      [{ owner: 'p-b' }, 403, /owned by 'p-b'/],
    ];
    const before = (await h.call('admin', 'GET', '/image/v2/images?visibility=all&limit=1000')).json<{ images: unknown[] }>().images.length;
    for (const [body, status, message] of cases) {
      const res = await h.call('member-a', 'POST', '/image/v2/images', { name: 'bad', ...body });
      assert.equal(res.statusCode, status, JSON.stringify(body));
      const fault = res.json<{ code: number; title: string; message: string }>();
      assert.equal(fault.code, status);
      assert.match(fault.message, message);
    }
    const notJson = await h.call('member-a', 'POST', '/image/v2/images', '{"name":', { 'content-type': 'application/json' });
    assert.equal(notJson.statusCode, 400);
    const afterCount = (await h.call('admin', 'GET', '/image/v2/images?visibility=all&limit=1000')).json<{ images: unknown[] }>().images.length;
    assert.equal(afterCount, before);
  });

  it('edits with JSON patch: add/replace/remove on properties and mutable attributes', async () => {
    const img = await h.create('member-a', { name: 'edit-me', disk_format: 'raw', container_format: 'bare', a: '1' });
    const url = `/image/v2/images/${String(img['id'])}`;
    const ok = await h.call(
      'member-a',
      'PATCH',
      url,
      JSON.stringify([
        { op: 'replace', path: '/name', value: 'edited' },
        { op: 'add', path: '/b', value: '2' },
        { op: 'replace', path: '/a', value: 'one' },
        { op: 'add', path: '/tags', value: ['x'] },
        { op: 'add', path: '/tags/-', value: 'y' },
        { op: 'replace', path: '/min_disk', value: 5 },
        { op: 'replace', path: '/protected', value: true },
        { op: 'replace', path: '/visibility', value: 'private' },
      ]),
      PATCH,
    );
    assert.equal(ok.statusCode, 200, ok.body);
    const edited = ok.json<Record<string, unknown>>();
    assert.equal(edited['name'], 'edited');
    assert.equal(edited['a'], 'one');
    assert.equal(edited['b'], '2');
    assert.deepEqual(edited['tags'], ['x', 'y']);
    assert.equal(edited['min_disk'], 5);
    assert.equal(edited['protected'], true);
    assert.equal(edited['visibility'], 'private');

    const removed = await h.call('member-a', 'PATCH', url, JSON.stringify([{ op: 'remove', path: '/b' }]), PATCH);
    assert.equal(removed.statusCode, 200);
    assert.equal('b' in removed.json<Record<string, unknown>>(), false);

    const refused: [unknown, number, RegExp][] = [
      [[{ op: 'replace', path: '/status', value: 'active' }], 403, /read-only/],
      [[{ op: 'replace', path: '/id', value: 'x' }], 403, /read-only/],
      [[{ op: 'remove', path: '/name' }], 403, /may not be removed/],
      [[{ op: 'remove', path: '/nope' }], 409, /does not exist/],
      [[{ op: 'replace', path: '/nope', value: 'x' }], 409, /does not exist/],
      [[{ op: 'replace', path: '/visibility', value: 'public' }], 403, /public/],
      [[{ op: 'replace', path: '/disk_format', value: 'floppy' }], 400, /disk_format/],
      [[{ op: 'add', path: '/os_glance_foo', value: 'bar' }], 403, /Attribute 'os_glance_foo' is reserved\./],
      [[{ op: 'move', path: '/name', from: '/a' }], 400, /operation|move|from/],
      [[{ op: 'replace', path: 'name', value: 'x' }], 400, /start with/],
      [[{ op: 'replace', path: '/a/b', value: 'x' }], 400, /Nested/],
      [[{ op: 'replace', path: '/name' }], 400, /value/],
      [{ op: 'replace', path: '/name', value: 'x' }, 400, /array/],
      // The first operation is fine, the second is not: nothing of the patch is applied.
      [[{ op: 'replace', path: '/name', value: 'half' }, { op: 'replace', path: '/size', value: 1 }], 403, /read-only/],
    ];
    for (const [body, status, message] of refused) {
      const res = await h.call('member-a', 'PATCH', url, JSON.stringify(body), PATCH);
      assert.equal(res.statusCode, status, JSON.stringify(body));
      assert.match(res.json<{ message: string }>().message, message);
    }
    const malformed = await h.call('member-a', 'PATCH', url, '[{"op":', PATCH);
    assert.equal(malformed.statusCode, 400);
    const wrongType = await h.call('member-a', 'PATCH', url, [{ op: 'replace', path: '/name', value: 'json' }]);
    assert.equal(wrongType.statusCode, 415);
    const still = (await h.call('member-a', 'GET', url)).json<Record<string, unknown>>();
    assert.equal(still['name'], 'edited');
  });

  it('lists with filters, sorting and marker pagination with next links', async () => {
    const ids: string[] = [];
    for (const n of ['p1', 'p2', 'p3', 'p4', 'p5']) {
      const img = await h.create('member-b', { name: n, disk_format: n === 'p3' ? 'qcow2' : 'raw', container_format: 'bare', tags: n === 'p2' ? ['gold'] : [], os: n === 'p4' ? 'linux' : 'other' });
      ids.push(String(img['id']));
    }
    const names = async (q: string): Promise<string[]> => {
      const res = await h.call('member-b', 'GET', `/image/v2/images?${q}`);
      assert.equal(res.statusCode, 200, res.body);
      return res.json<{ images: { name: string }[] }>().images.map((i) => i.name);
    };
    // size is the core attribute (exact), not a custom property; no image here has data yet.
    assert.deepEqual(await names('size=0'), []);
    assert.equal((await h.call('member-b', 'GET', '/image/v2/images?size=-1')).statusCode, 400);
    // GET /v2/images/ is a show with an empty id, as in Glance, not the list.
    assert.equal((await h.call('member-b', 'GET', '/image/v2/images/')).statusCode, 404);
    assert.deepEqual(await names('sort=name:asc'), ['p1', 'p2', 'p3', 'p4', 'p5']);
    assert.deepEqual(await names('sort_key=name&sort_dir=desc'), ['p5', 'p4', 'p3', 'p2', 'p1']);
    assert.deepEqual(await names('disk_format=qcow2'), ['p3']);
    assert.deepEqual(await names('tag=gold'), ['p2']);
    assert.deepEqual(await names('os=linux'), ['p4']);
    assert.deepEqual(await names('name=in:p1,p5&sort=name:asc'), ['p1', 'p5']);
    assert.deepEqual(await names('status=active'), []);

    const seen: string[] = [];
    let url: string | undefined = '/v2/images?sort=name:asc&limit=2';
    let pages = 0;
    while (url !== undefined) {
      const page: { images: { name: string }[]; next?: string; first: string; schema: string } = (await h.call('member-b', 'GET', `/image${url}`)).json();
      assert.equal(page.first, '/v2/images?sort=name%3Aasc&limit=2');
      assert.equal(page.schema, '/v2/schemas/images');
      seen.push(...page.images.map((i) => i.name));
      url = page.next;
      pages++;
    }
    assert.deepEqual(seen, ['p1', 'p2', 'p3', 'p4', 'p5']);
    assert.equal(pages, 3);

    for (const q of ['sort_key=bogus', 'sort=name:up', 'limit=-1', 'marker=00000000-0000-0000-0000-000000000000', 'visibility=everyone', 'size_min=x', 'created_at=gt:yesterday', 'sort=name&sort_key=id']) {
      const res = await h.call('member-b', 'GET', `/image/v2/images?${q}`);
      assert.equal(res.statusCode, 400, q);
    }
  });

  it('deletes images, refusing protected ones', async () => {
    const img = await h.create('member-a', { name: 'keep', protected: true });
    const url = `/image/v2/images/${String(img['id'])}`;
    const refused = await h.call('member-a', 'DELETE', url);
    assert.equal(refused.statusCode, 403);
    assert.match(refused.json<{ message: string }>().message, /protected/);
    assert.equal((await h.call('member-a', 'GET', url)).statusCode, 200);
    await h.call('member-a', 'PATCH', url, JSON.stringify([{ op: 'replace', path: '/protected', value: false }]), PATCH);
    assert.equal((await h.call('member-a', 'DELETE', url)).statusCode, 204);
    assert.equal((await h.call('member-a', 'GET', url)).statusCode, 404);
    assert.equal((await h.call('member-a', 'DELETE', url)).statusCode, 404);
  });

  it('adds and removes tags, and serves the schemas', async () => {
    const img = await h.create('member-a', { name: 'tagged' });
    const url = `/image/v2/images/${String(img['id'])}`;
    assert.equal((await h.call('member-a', 'PUT', `${url}/tags/blue`)).statusCode, 204);
    assert.equal((await h.call('member-a', 'PUT', `${url}/tags/blue`)).statusCode, 204);
    assert.deepEqual((await h.call('member-a', 'GET', url)).json<{ tags: string[] }>().tags, ['blue']);
    assert.equal((await h.call('member-a', 'DELETE', `${url}/tags/blue`)).statusCode, 204);
    assert.equal((await h.call('member-a', 'DELETE', `${url}/tags/blue`)).statusCode, 404);
    assert.equal((await h.call('member-a', 'PUT', `${url}/tags/${'t'.repeat(256)}`)).statusCode, 400);

    for (const name of ['image', 'images', 'member', 'members']) {
      const res = await h.call('reader-a', 'GET', `/image/v2/schemas/${name}`);
      assert.equal(res.statusCode, 200);
      assert.equal(res.json<{ name: string }>().name, name);
    }
    const schema = (await h.call('reader-a', 'GET', '/image/v2/schemas/image')).json<{ properties: { disk_format: { enum: unknown[] } } }>();
    assert.ok(schema.properties.disk_format.enum.includes('vmdk'));
  });

  it('requires a token for everything but version discovery', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/image/v2/images' });
    assert.equal(res.statusCode, 401);
    assert.equal(res.json<{ code: number }>().code, 401);
  });
});
