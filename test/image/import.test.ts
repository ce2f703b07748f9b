import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { importsSettled } from '../../src/image/api/import-routes.js';
import { OCTET, startImageApi, type ImageHarness } from './harness.js';

type Json = Record<string, unknown>;

/** Glance's interoperable import: stage + glance-direct, web-download from a loopback server, copy-image. */
describe('Image API v2: interoperable image import', () => {
  const payload = Buffer.from('polyvisor import test data '.repeat(4000));
  let web: Server;
  let port: number;
  let h: ImageHarness;
  let release: () => void = () => undefined;
  let requested: () => void = () => undefined;

  before(async () => {
    web = createServer((req, res) => {
      if (req.url === '/disk.raw') res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(payload);
      else if (req.url === '/slow') {
        requested();
        res.writeHead(200, { 'content-type': 'application/octet-stream' }).write(payload.subarray(0, 100));
        release = () => res.end(payload.subarray(100));
      } else if (req.url === '/moved') res.writeHead(302, { location: '/disk.raw' }).end();
      else res.writeHead(404).end('no such file');
    });
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    port = (web.address() as AddressInfo).port;
    h = await startImageApi({ imageOptions: `web_download_allowed_hosts = 127.0.0.1\nweb_download_allowed_ports = ${port}` });
  });
  after(async () => {
    await h.close();
    await new Promise((resolve) => web.close(resolve));
  });

  const show = async (id: string): Promise<Json> => (await h.call('member-a', 'GET', `/image/v2/images/${id}`)).json<Json>();
  const newImage = async (): Promise<string> => String((await h.create('member-a', { name: 'imp', disk_format: 'raw', container_format: 'bare' }))['id']);
  const importImage = (id: string, body: Json, token = 'member-a') => h.call(token, 'POST', `/image/v2/images/${id}/import`, body);

  it('announces its import methods and its one store (in /v2/info and, as Glance, on image create)', async () => {
    const created = await h.call('member-a', 'POST', '/image/v2/images', { name: 'hdr' });
    assert.equal(created.headers['openstack-image-import-methods'], 'glance-direct,web-download,copy-image');
    assert.equal(created.headers['openstack-image-store-ids'], 'file');
    const methods = (await h.call('member-a', 'GET', '/image/v2/info/import')).json<Json>();
    assert.deepEqual((methods['import-methods'] as Json)['value'], ['glance-direct', 'web-download', 'copy-image']);
    const stores = (await h.call('member-a', 'GET', '/image/v2/info/stores')).json<{ stores: Json[] }>();
    assert.deepEqual(stores.stores.map((s) => s['id']), ['file']);
  });

  it('stages data (uploading, not yet served) and imports it with glance-direct', async () => {
    const id = await newImage();
    const early = await importImage(id, { method: { name: 'glance-direct' } });
    assert.equal(early.statusCode, 409);
    assert.match(early.body, /Image needs to be staged before 'glance-direct' method can be used/);

    assert.equal((await h.call('member-a', 'PUT', `/image/v2/images/${id}/stage`, payload, OCTET)).statusCode, 204);
    const staged = await show(id);
    assert.equal(staged['status'], 'uploading');
    assert.equal(staged['stores'], undefined);
    assert.equal((await h.call('member-a', 'GET', `/image/v2/images/${id}/file`)).statusCode, 204);
    assert.equal((await h.call('member-a', 'PUT', `/image/v2/images/${id}/stage`, payload, OCTET)).statusCode, 409);

    const res = await importImage(id, { method: { name: 'glance-direct' }, all_stores: true });
    assert.equal(res.statusCode, 202, res.body);
    await importsSettled();

    const done = await show(id);
    assert.equal(done['status'], 'active');
    assert.equal(done['stores'], 'file');
    assert.equal(done['os_glance_importing_to_stores'], '');
    assert.equal(done['os_glance_failed_import'], '');
    assert.equal(done['os_glance_import_task'], undefined);
    assert.equal(done['size'], payload.length);
    assert.equal(done['checksum'], createHash('md5').update(payload).digest('hex'));
    const file = await h.call('member-a', 'GET', `/image/v2/images/${id}/file`);
    assert.ok(file.rawPayload.equals(payload));
  });

  it('refuses bad import requests with Glance\'s messages and changes nothing', async () => {
    const id = await newImage();
    const cases: [Json, RegExp][] = [
      [{}, /requires a 'method' field/],
      [{ method: {} }, /requires a 'name' field/],
      [{ method: { name: 'glance-download' } }, /Unknown import method name 'glance-download'/],
      [{ method: { name: 'web-download' } }, /requires a 'uri' parameter/],
      [{ method: { name: 'web-download', uri: 'http://example.com/disk.raw' } }, /does not pass filtering/],
      [{ method: { name: 'web-download', uri: `http://127.0.0.1:${port + 1}/disk.raw` } }, /does not pass filtering/],
      [{ method: { name: 'web-download', uri: `file:///etc/passwd` } }, /does not pass filtering/],
      [{ method: { name: 'glance-direct' }, stores: ['ceph'] }, /Unknown store identifier 'ceph'/],
    ];
    for (const [body, message] of cases) {
      const res = await importImage(id, body);
      assert.equal(res.statusCode, 400, JSON.stringify(body));
      assert.match(res.body, message);
    }
    const after = await show(id);
    assert.equal(after['status'], 'queued');
    assert.equal(after['os_glance_import_task'], undefined);
  });

  it('downloads an allowed URL with web-download, importing meanwhile', async () => {
    const id = await newImage();
    const started = new Promise<void>((resolve) => (requested = resolve));
    const res = await importImage(id, { method: { name: 'web-download', uri: `http://127.0.0.1:${port}/slow` }, stores: ['file'] });
    assert.equal(res.statusCode, 202, res.body);
    await started;
    const importing = await show(id);
    assert.equal(importing['status'], 'importing');
    assert.equal(importing['os_glance_importing_to_stores'], 'file');
    assert.equal(typeof importing['os_glance_import_task'], 'string');
    assert.equal((await importImage(id, { method: { name: 'web-download', uri: `http://127.0.0.1:${port}/disk.raw` } })).statusCode, 409);
    release();
    await importsSettled();
    const done = await show(id);
    assert.equal(done['status'], 'active');
    assert.equal(done['size'], payload.length);
    assert.equal(done['os_glance_failed_import'], '');
    assert.ok((await h.call('member-a', 'GET', `/image/v2/images/${id}/file`)).rawPayload.equals(payload));
  });

  it('a web-download that fails (404, redirect) leaves the image queued with the store in os_glance_failed_import', async () => {
    for (const path of ['/missing', '/moved']) {
      const id = await newImage();
      const before = h.storeFiles().length;
      assert.equal((await importImage(id, { method: { name: 'web-download', uri: `http://127.0.0.1:${port}${path}` } })).statusCode, 202);
      await importsSettled();
      const failed = await show(id);
      assert.equal(failed['status'], 'queued', path);
      assert.equal(failed['os_glance_failed_import'], 'file');
      assert.equal(failed['os_glance_importing_to_stores'], '');
      assert.equal(failed['size'], null);
      assert.equal(h.storeFiles().length, before);
    }
  });

  it('copy-image is for admins; an image already in the only store has nothing left to copy', async () => {
    const id = await newImage();
    assert.equal((await h.call('member-a', 'PUT', `/image/v2/images/${id}/file`, payload, OCTET)).statusCode, 204);
    assert.equal((await importImage(id, { method: { name: 'copy-image' }, all_stores: true })).statusCode, 403);
    const res = await importImage(id, { method: { name: 'copy-image' }, all_stores: true, all_stores_must_succeed: false }, 'admin');
    assert.equal(res.statusCode, 202, res.body);
    const shown = await show(id);
    assert.equal(shown['status'], 'active');
    assert.equal(shown['os_glance_importing_to_stores'], '');
    assert.equal(shown['os_glance_failed_import'], '');
  });
});
