import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { OCTET, PATCH, startImageApi, type ImageHarness } from './harness.js';

describe('Image API v2: visibility, sharing and policy', () => {
  let h: ImageHarness;
  before(async () => {
    h = await startImageApi();
  });
  after(async () => {
    await h.close();
  });
  const ids = async (token: string, query = ''): Promise<string[]> =>
    (await h.call(token, 'GET', `/image/v2/images${query}`)).json<{ images: { id: string }[] }>().images.map((i) => i.id);

  it("hides another project's private image (404) and lets each project see its own", async () => {
    const priv = await h.create('member-a', { name: 'a-private', visibility: 'private', disk_format: 'raw', container_format: 'bare' });
    const id = String(priv['id']);
    assert.equal((await h.call('member-b', 'GET', `/image/v2/images/${id}`)).statusCode, 404);
    assert.equal((await h.call('member-b', 'GET', `/image/v2/images/${id}/file`)).statusCode, 404);
    assert.equal((await h.call('member-b', 'PATCH', `/image/v2/images/${id}`, JSON.stringify([{ op: 'replace', path: '/name', value: 'x' }]), PATCH)).statusCode, 404);
    assert.equal((await h.call('member-b', 'DELETE', `/image/v2/images/${id}`)).statusCode, 404);
    assert.equal((await h.call('member-b', 'PUT', `/image/v2/images/${id}/tags/t`)).statusCode, 404);
    assert.ok(!(await ids('member-b')).includes(id));
    assert.ok(!(await ids('member-b', '?visibility=all')).includes(id));
    assert.ok((await ids('member-a')).includes(id));
    assert.ok((await ids('reader-a')).includes(id));
    assert.ok((await ids('admin')).includes(id));
    assert.equal((await h.call('member-a', 'GET', `/image/v2/images/${id}`)).json<{ name: string }>().name, 'a-private');
  });

  it('lets readers read but not write', async () => {
    const img = await h.create('member-a', { name: 'r', disk_format: 'raw', container_format: 'bare' });
    const url = `/image/v2/images/${String(img['id'])}`;
    assert.equal((await h.call('reader-a', 'GET', url)).statusCode, 200);
    const writes = [
      await h.call('reader-a', 'POST', '/image/v2/images', { name: 'nope' }),
      await h.call('reader-a', 'PATCH', url, JSON.stringify([{ op: 'replace', path: '/name', value: 'x' }]), PATCH),
      await h.call('reader-a', 'DELETE', url),
      await h.call('reader-a', 'PUT', `${url}/tags/x`),
      await h.call('reader-a', 'PUT', `${url}/file`, Buffer.from('x'), OCTET),
    ];
    for (const w of writes) assert.equal(w.statusCode, 403, w.body);
    assert.equal((await h.call('member-a', 'GET', url)).json<{ name: string }>().name, 'r');
  });

  it('shares an image with members who accept it; non-members and rejecters do not list it', async () => {
    const img = await h.create('member-a', { name: 'shared', visibility: 'shared', disk_format: 'raw', container_format: 'bare' });
    const id = String(img['id']);
    const members = `/image/v2/images/${id}/members`;
    assert.equal((await h.call('member-a', 'PUT', `/image/v2/images/${id}/file`, Buffer.from('shared bits'), OCTET)).statusCode, 204);
    assert.equal((await h.call('member-b', 'GET', `/image/v2/images/${id}`)).statusCode, 404);

    const added = await h.call('member-a', 'POST', members, { member: 'p-b' });
    assert.equal(added.statusCode, 200, added.body);
    assert.deepEqual(
      (({ image_id, member_id, status, schema }) => ({ image_id, member_id, status, schema }))(added.json<Record<string, unknown>>()),
      { image_id: id, member_id: 'p-b', status: 'pending', schema: '/v2/schemas/member' },
    );
    assert.equal((await h.call('member-a', 'POST', members, { member: 'p-b' })).statusCode, 409);
    assert.equal((await h.call('member-a', 'POST', members, { member: 'p-b', extra: 1 })).statusCode, 400);

    // Pending: the member can show it but it is not in its default list.
    assert.equal((await h.call('member-b', 'GET', `/image/v2/images/${id}`)).statusCode, 200);
    assert.ok(!(await ids('member-b')).includes(id));
    assert.ok((await ids('member-b', '?member_status=pending')).includes(id));
    // Only the member decides; the owner cannot accept on its behalf.
    assert.equal((await h.call('member-a', 'PUT', `${members}/p-b`, { status: 'accepted' })).statusCode, 403);
    assert.equal((await h.call('member-b', 'PUT', `${members}/p-b`, { status: 'maybe' })).statusCode, 400);
    const accepted = await h.call('member-b', 'PUT', `${members}/p-b`, { status: 'accepted' });
    assert.equal(accepted.statusCode, 200);
    assert.equal(accepted.json<{ status: string }>().status, 'accepted');
    assert.ok((await ids('member-b')).includes(id));
    const data = await h.call('member-b', 'GET', `/image/v2/images/${id}/file`);
    assert.equal(data.body, 'shared bits');
    // A member sees only itself; the owner sees all; a member cannot change the image.
    assert.deepEqual((await h.call('member-b', 'GET', members)).json<{ members: { member_id: string }[] }>().members.map((m) => m.member_id), ['p-b']);
    assert.equal((await h.call('member-b', 'DELETE', `/image/v2/images/${id}`)).statusCode, 403);
    assert.equal((await h.call('member-b', 'PATCH', `/image/v2/images/${id}`, JSON.stringify([{ op: 'replace', path: '/name', value: 'mine' }]), PATCH)).statusCode, 403);

    assert.equal((await h.call('member-b', 'PUT', `${members}/p-b`, { status: 'rejected' })).statusCode, 200);
    assert.ok(!(await ids('member-b')).includes(id));

    assert.equal((await h.call('member-a', 'DELETE', `${members}/p-b`)).statusCode, 204);
    assert.equal((await h.call('member-b', 'GET', `/image/v2/images/${id}`)).statusCode, 404);
    assert.equal((await h.call('member-a', 'DELETE', `${members}/p-b`)).statusCode, 404);
  });

  it('allows members only on shared images and public images only by admins', async () => {
    const priv = await h.create('member-a', { name: 'p', visibility: 'private' });
    const res = await h.call('member-a', 'POST', `/image/v2/images/${String(priv['id'])}/members`, { member: 'p-b' });
    assert.equal(res.statusCode, 403);
    assert.match(res.json<{ message: string }>().message, /Only shared images have members/);

    const pub = await h.create('admin', { name: 'public-cirros', visibility: 'public' });
    const pubId = String(pub['id']);
    assert.ok((await ids('member-b')).includes(pubId));
    assert.equal((await h.call('member-b', 'DELETE', `/image/v2/images/${pubId}`)).statusCode, 403);

    const comm = await h.create('member-a', { name: 'community', visibility: 'community' });
    const commId = String(comm['id']);
    assert.equal((await h.call('member-b', 'GET', `/image/v2/images/${commId}`)).statusCode, 200);
    assert.ok(!(await ids('member-b')).includes(commId), 'community images are not in the default list');
    assert.ok((await ids('member-b', '?visibility=community')).includes(commId));
  });

  it('deactivates and reactivates an active image', async () => {
    const img = await h.create('member-a', { name: 'd', disk_format: 'raw', container_format: 'bare', visibility: 'community' });
    const url = `/image/v2/images/${String(img['id'])}`;
    assert.equal((await h.call('member-a', 'POST', `${url}/actions/deactivate`)).statusCode, 403, 'queued images cannot be deactivated');
    await h.call('member-a', 'PUT', `${url}/file`, Buffer.from('abc'), OCTET);
    assert.equal((await h.call('member-b', 'POST', `${url}/actions/deactivate`)).statusCode, 403);
    assert.equal((await h.call('member-a', 'POST', `${url}/actions/deactivate`)).statusCode, 204);
    assert.equal((await h.call('member-a', 'GET', url)).json<{ status: string }>().status, 'deactivated');
    assert.equal((await h.call('member-b', 'GET', `${url}/file`)).statusCode, 403);
    assert.equal((await h.call('admin', 'GET', `${url}/file`)).body, 'abc');
    assert.equal((await h.call('member-a', 'POST', `${url}/actions/reactivate`)).statusCode, 204);
    assert.equal((await h.call('member-b', 'GET', `${url}/file`)).body, 'abc');
  });

  it('hides os_hidden images from the default list only', async () => {
    const img = await h.create('member-a', { name: 'hidden', os_hidden: true });
    const id = String(img['id']);
    assert.ok(!(await ids('member-a')).includes(id));
    assert.ok((await ids('member-a', '?os_hidden=true')).includes(id));
    assert.equal((await h.call('member-a', 'GET', `/image/v2/images/${id}`)).statusCode, 200);
  });
});
