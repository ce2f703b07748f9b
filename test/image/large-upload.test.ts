import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { after, it } from 'node:test';
import { startImageApi, type ImageHarness } from './harness.js';

const SIZE = 256 * 1024 * 1024;
const CHUNK = 1024 * 1024;
const MB = 1024 * 1024;

let h: ImageHarness | undefined;
after(async () => {
  await h?.close();
});

/**
 * The client runs in a child process so that the figure is the server's alone: it sends
 * 256 MiB made on the fly (each 1 MiB chunk differs by a counter in its first bytes) and
 * prints the response status and the md5 of what it sent.
 */
const CLIENT = `
const { request } = require('node:http');
const { createHash } = require('node:crypto');
const [port, path, size, chunkSize] = process.argv.slice(1);
const md5 = createHash('md5');
const req = request({ host: '127.0.0.1', port: Number(port), method: 'PUT', path,
  headers: { 'content-type': 'application/octet-stream', 'x-auth-token': 'member-a', 'content-length': size } },
  (res) => { res.resume(); res.on('end', () => console.log(res.statusCode, md5.digest('hex'))); });
req.on('error', (e) => { console.error(e.message); process.exit(1); });
let i = 0;
const n = Number(size) / Number(chunkSize);
const write = () => {
  while (i < n) {
    const chunk = Buffer.alloc(Number(chunkSize), 0x5a);
    chunk.writeUInt32BE(i++, 0);
    md5.update(chunk);
    if (!req.write(chunk)) return void req.once('drain', write);
  }
  req.end();
};
write();
`;

function runClient(port: number, path: string): Promise<{ status: number; md5: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', CLIENT, String(port), path, String(SIZE), String(CHUNK)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const [status, md5] = out.trim().split(' ');
      if (code !== 0 || status === undefined || md5 === undefined) reject(new Error(`upload client failed (exit ${code}): ${out}`));
      else resolve({ status: Number(status), md5 });
    });
  });
}

it('streams a 256 MiB upload over HTTP to the store with resident memory growth far below its size', async () => {
  h = await startImageApi();
  const img = await h.create('member-a', { name: 'big', disk_format: 'raw', container_format: 'bare' });
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = h.app.server.address() as AddressInfo;

  global.gc?.();
  const baseline = process.memoryUsage.rss();
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  const started = process.hrtime.bigint();
  const { status, md5 } = await runClient(port, `/image/v2/images/${String(img['id'])}/file`);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage.rss());

  assert.equal(status, 204);
  const shown = (await h.call('member-a', 'GET', `/image/v2/images/${String(img['id'])}`)).json<{ size: number; checksum: string; status: string }>();
  assert.equal(shown.status, 'active');
  assert.equal(shown.size, SIZE);
  assert.equal(shown.checksum, md5);
  const growth = (peak - baseline) / MB;
  console.log(`256 MiB upload: ${(SIZE / MB / seconds).toFixed(0)} MiB/s, RSS growth ${growth.toFixed(1)} MB (baseline ${(baseline / MB).toFixed(0)} MB)`);
  assert.ok(growth < 64, `RSS grew by ${growth.toFixed(1)} MB while uploading 256 MiB`);
});
