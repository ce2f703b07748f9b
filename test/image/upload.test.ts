import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { after, describe, it } from 'node:test';
import type { AddressInfo } from 'node:net';
import { InvalidInputError } from '../../src/errors.js';
import { OCTET, startImageApi, type ImageHarness } from './harness.js';

function digest(algo: string, data: Buffer): string {
  return createHash(algo).update(data).digest('hex');
}

describe('Image API v2: image data', () => {
  const harnesses: ImageHarness[] = [];
  after(async () => {
    for (const h of harnesses) await h.close();
  });
  const start = async (options: Parameters<typeof startImageApi>[0] = {}) => {
    const h = await startImageApi(options);
    harnesses.push(h);
    return h;
  };

  it('uploads, records checksums and serves the same bytes back', async () => {
    const h = await start();
    const img = await h.create('member-a', { name: 'disk', disk_format: 'raw', container_format: 'bare' });
    const url = `/image/v2/images/${String(img['id'])}`;
    assert.equal((await h.call('member-a', 'GET', `${url}/file`)).statusCode, 204);

    const data = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) & 0xff;
    const put = await h.call('member-a', 'PUT', `${url}/file`, data, OCTET);
    assert.equal(put.statusCode, 204, put.body);

    const shown = (await h.call('member-a', 'GET', url)).json<Record<string, unknown>>();
    assert.equal(shown['status'], 'active');
    assert.equal(shown['size'], data.length);
    assert.equal(shown['checksum'], digest('md5', data));
    assert.equal(shown['os_hash_algo'], 'sha512');
    assert.equal(shown['os_hash_value'], digest('sha512', data));

    const got = await h.call('member-a', 'GET', `${url}/file`);
    assert.equal(got.statusCode, 200);
    assert.equal(got.headers['content-md5'], digest('md5', data));
    assert.equal(got.headers['content-length'], String(data.length));
    assert.equal(got.headers['content-type'], 'application/octet-stream');
    assert.ok(got.rawPayload.equals(data));

    const part = await h.call('member-a', 'GET', `${url}/file`, undefined, { range: 'bytes=10-19' });
    assert.equal(part.statusCode, 206);
    assert.equal(part.headers['content-range'], `bytes 10-19/${data.length}`);
    assert.ok(part.rawPayload.equals(data.subarray(10, 20)));

    const again = await h.call('member-a', 'PUT', `${url}/file`, Buffer.from('x'), OCTET);
    assert.equal(again.statusCode, 409);
    assert.equal(h.storeFiles().length, 1);

    assert.equal((await h.call('member-a', 'DELETE', url)).statusCode, 204);
    assert.deepEqual(h.storeFiles(), [], 'delete removes the stored bits');
  });

  it('refuses uploads that are not octet-stream, lack formats, or come from readers and other projects', async () => {
    const h = await start();
    const img = await h.create('member-a', { name: 'x', disk_format: 'raw', container_format: 'bare' });
    const url = `/image/v2/images/${String(img['id'])}/file`;
    assert.equal((await h.call('member-a', 'PUT', url, { a: 1 })).statusCode, 415);
    assert.equal((await h.call('reader-a', 'PUT', url, Buffer.from('x'), OCTET)).statusCode, 403);
    assert.equal((await h.call('member-b', 'PUT', url, Buffer.from('x'), OCTET)).statusCode, 404);
    const bare = await h.create('member-a', { name: 'no formats' });
    const noFormats = await h.call('member-a', 'PUT', `/image/v2/images/${String(bare['id'])}/file`, Buffer.from('x'), OCTET);
    assert.equal(noFormats.statusCode, 400);
    assert.match(noFormats.json<{ message: string }>().message, /disk_format, container_format/);
    assert.equal((await h.call('member-a', 'GET', `/image/v2/images/${String(img['id'])}`)).json<{ status: string }>().status, 'queued');
    assert.deepEqual(h.storeFiles(), []);
  });

  it('refuses an upload over image_size_cap with 413, leaving the image queued and no file', async () => {
    const h = await start({ sizeCap: 1024 * 1024 });
    const img = await h.create('member-a', { name: 'big', disk_format: 'raw', container_format: 'bare' });
    const url = `/image/v2/images/${String(img['id'])}`;
    const res = await h.call('member-a', 'PUT', `${url}/file`, Buffer.alloc(1024 * 1024 + 1), OCTET);
    assert.equal(res.statusCode, 413);
    assert.match(res.json<{ message: string }>().message, /image_size_cap/);
    assert.equal((await h.call('member-a', 'GET', url)).json<{ status: string }>().status, 'queued');
    assert.deepEqual(h.storeFiles(), []);

    // Without a Content-Length the cap is enforced while streaming.
    const app = h.app;
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as AddressInfo;
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'PUT', path: `${url}/file`, headers: { ...OCTET, 'x-auth-token': 'member-a', 'transfer-encoding': 'chunked' } }, (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      });
      req.on('error', reject);
      const chunk = Buffer.alloc(64 * 1024);
      const write = (left: number): void => {
        if (left === 0) return void req.end();
        if (req.write(chunk)) write(left - 1);
        else req.once('drain', () => write(left - 1));
      };
      write(32);
    });
    assert.equal(status, 413);
    assert.equal((await h.call('member-a', 'GET', url)).json<{ status: string }>().status, 'queued');
    assert.deepEqual(h.storeFiles(), []);
  });

  it('lets an upload observer see every chunk and refuse the data', async () => {
    let seen = 0;
    let ended = false;
    const h = await start({
      inspectorsFor: (image) => [
        {
          update(chunk: Buffer) {
            seen += chunk.length;
            if (image.name === 'refuse' && seen > 1000) throw new InvalidInputError('This is not a raw disk: refused by the inspector.');
          },
          end() {
            ended = true;
          },
          facts: () => ({ virtualSize: seen * 2, properties: { inspected: 'yes' } }),
        },
      ],
    });
    const good = await h.create('member-a', { name: 'accept', disk_format: 'raw', container_format: 'bare' });
    assert.equal((await h.call('member-a', 'PUT', `/image/v2/images/${String(good['id'])}/file`, Buffer.alloc(5000, 1), OCTET)).statusCode, 204);
    assert.equal(seen, 5000);
    assert.equal(ended, true);
    const shown = (await h.call('member-a', 'GET', `/image/v2/images/${String(good['id'])}`)).json<Record<string, unknown>>();
    assert.equal(shown['virtual_size'], 10000);
    assert.equal(shown['inspected'], 'yes');

    seen = 0;
    const bad = await h.create('member-a', { name: 'refuse', disk_format: 'raw', container_format: 'bare' });
    const res = await h.call('member-a', 'PUT', `/image/v2/images/${String(bad['id'])}/file`, Buffer.alloc(5000, 1), OCTET);
    assert.equal(res.statusCode, 400);
    assert.match(res.json<{ message: string }>().message, /refused by the inspector/);
    assert.equal((await h.call('member-a', 'GET', `/image/v2/images/${String(bad['id'])}`)).json<{ status: string }>().status, 'queued');
    assert.equal(h.storeFiles().length, 1, 'only the accepted image is stored');
  });

  it('leaves the image queued and no partial file when the client disconnects midway', async () => {
    let firstChunk!: () => void;
    const receiving = new Promise<void>((resolve) => (firstChunk = resolve));
    let failed!: () => void;
    const handlerFailed = new Promise<void>((resolve) => (failed = resolve));
    const h = await start({
      inspectorsFor: () => [{ update: () => firstChunk() }],
      setup: (app) =>
        app.addHook('onError', async () => {
          failed();
        }),
    });
    const img = await h.create('member-a', { name: 'cut', disk_format: 'raw', container_format: 'bare' });
    const url = `/image/v2/images/${String(img['id'])}`;
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = h.app.server.address() as AddressInfo;
    const req = request({
      host: '127.0.0.1',
      port,
      method: 'PUT',
      path: `${url}/file`,
      headers: { ...OCTET, 'x-auth-token': 'member-a', 'content-length': String(10 * 1024 * 1024) },
    });
    req.on('error', () => undefined);
    req.write(Buffer.alloc(1024 * 1024, 7));
    await receiving;
    assert.equal((await h.call('member-a', 'GET', url)).json<{ status: string }>().status, 'saving');
    // The temporary file appears once its stream has opened, which may be just after the first chunk.
    for (let i = 0; i < 200 && h.storeFiles().filter((f) => f.startsWith('.upload-')).length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(h.storeFiles().filter((f) => f.startsWith('.upload-')).length, 1, 'the upload is written to a temporary file');
    req.destroy();
    await handlerFailed;
    assert.equal((await h.call('member-a', 'GET', url)).json<{ status: string }>().status, 'queued');
    assert.deepEqual(h.storeFiles(), []);
    // The image can still be uploaded afterwards.
    assert.equal((await h.call('member-a', 'PUT', `${url}/file`, Buffer.from('ok'), OCTET)).statusCode, 204);
  });
});
