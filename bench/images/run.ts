/**
 * Image service benchmark. For one large image (default 4 GiB) prints, in one run:
 *  1. upload throughput through the Image API with inspection and hashing (raw, and the same
 *     disk as a streamOptimized VMDK whose every grain is inflated) against `cat file > /dev/null`;
 *  2. resident-memory growth of the process during each upload (goal < 64 MB);
 *  3. conversion time of the service (ImageSource.open('vmdk') producing the variant) against
 *     plain `qemu-img convert` of the same file, and the time of a second, cached open.
 * Run: node --import tsx bench/images/run.ts [--size-mib=4096] [--density=0.25]
 * (--density: fraction of each MiB holding data; the rest is zeros, as in real disks.)
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createApiServer } from '../../src/api/server.js';
import { configFromText } from '../../src/config/load.js';
import { createImageProvider, createImageStore, FileImageStore, imageRoutes } from '../../src/image/index.js';
import { silentLogger } from '../../src/log.js';
import { openDatabase } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { fakeAuthenticator } from '../../test/support/fake-auth.js';
import { fmt } from '../support/stats.js';

const arg = (name: string, dflt: number): number => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a === undefined ? dflt : Number(a.split('=')[1]);
};
const SIZE_MIB = arg('size-mib', 4096);
const DENSITY = arg('density', 0.25);
const MiB = 1024 * 1024;
const run = promisify(execFile);

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

/** Peak RSS above the level at start, sampled every 20 ms while `fn` runs. */
async function rssGrowth<T>(fn: () => Promise<T>): Promise<{ mb: number; ms: number; value: T }> {
  global.gc?.();
  const start = process.memoryUsage().rss;
  let peak = start;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  try {
    const r = await timed(fn);
    peak = Math.max(peak, process.memoryUsage().rss);
    return { mb: (peak - start) / MiB, ms: r.ms, value: r.value };
  } finally {
    clearInterval(timer);
  }
}

async function makeDisk(path: string): Promise<void> {
  const data = randomBytes(MiB);
  const out = createWriteStream(path);
  const used = Math.floor(MiB * DENSITY);
  for (let i = 0; i < SIZE_MIB; i++) {
    const block = Buffer.alloc(MiB);
    data.copy(block, 0, 0, used);
    block.writeUInt32LE(i, 0); // every block differs
    if (!out.write(block)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

function put(port: number, id: string, file: string, size: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'PUT', path: `/image/v2/images/${id}/file`, headers: { 'x-auth-token': 'admin', 'content-type': 'application/octet-stream', 'content-length': size } });
    req.once('response', (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', reject);
    createReadStream(file, { highWaterMark: MiB }).pipe(req);
  });
}

const devNull = () => new Writable({ write: (_c, _e, cb) => cb() });

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'polyvisor-bench-images-'));
  try {
    const raw = join(dir, 'disk.raw');
    const vmdk = join(dir, 'disk.vmdk');
    process.stdout.write(`bench/images: ${SIZE_MIB} MiB disk, ${fmt(DENSITY * 100, 0)}% data per MiB\n`);
    await makeDisk(raw);
    const qemuConvert = await timed(() => run('qemu-img', ['convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=streamOptimized,adapter_type=lsilogic', raw, vmdk]));
    const vmdkSize = (await stat(vmdk)).size;

    await run('sh', ['-c', `cat '${raw}' '${vmdk}' > /dev/null`]); // warm the page cache for both sides
    const catRaw = await timed(() => run('sh', ['-c', `cat '${raw}' > /dev/null`]));
    const catVmdk = await timed(() => run('sh', ['-c', `cat '${vmdk}' > /dev/null`]));

    const { config } = configFromText(`[DEFAULT]\nstate_path = ${dir}/state\n`);
    const handle = await openDatabase('', dir);
    await migrateToLatest(handle);
    const app = createApiServer({ logger: silentLogger, authenticator: fakeAuthenticator, maxBodySize: config.api.max_request_body_size });
    const store = createImageStore(config);
    await app.register(imageRoutes({ db: handle.db, config, logger: silentLogger, store, publicUrl: () => 'http://127.0.0.1', ...(process.env['BENCH_NO_INSPECT'] ? { inspectorsFor: () => [] } : {}) }), { prefix: '/image' });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const port = (app.server.address() as AddressInfo).port;
    const create = async (diskFormat: string): Promise<string> => {
      const res = await app.inject({ method: 'POST', url: '/image/v2/images', headers: { 'x-auth-token': 'admin', 'content-type': 'application/json' }, payload: { name: diskFormat, disk_format: diskFormat, container_format: 'bare' } });
      return res.json<{ id: string }>().id;
    };

    const rawId = await create('raw');
    const upRaw = await rssGrowth(() => put(port, rawId, raw, SIZE_MIB * MiB));
    const vmdkId = await create('vmdk');
    const upVmdk = await rssGrowth(() => put(port, vmdkId, vmdk, vmdkSize));
    if (upRaw.value !== 204 || upVmdk.value !== 204) throw new Error(`uploads answered ${upRaw.value} and ${upVmdk.value}`);

    const provider = createImageProvider(handle.db, new FileImageStore(config.glance_store.filesystem_store_datadir));
    const source = await provider.get(rawId, AbortSignal.timeout(3_600_000));
    const convert = await rssGrowth(async () => pipeline(await source.open('vmdk', AbortSignal.timeout(3_600_000)), devNull()));
    const cached = await timed(async () => pipeline(await source.open('vmdk', AbortSignal.timeout(3_600_000)), devNull()));
    await app.close();
    await handle.close();

    const rate = (bytes: number, ms: number) => fmt(bytes / MiB / (ms / 1000), 0);
    const lines = [
      ['', 'MiB', 'time s', 'MiB/s', 'RSS growth MB'],
      ['cat raw > /dev/null', String(SIZE_MIB), fmt(catRaw.ms / 1000, 2), rate(SIZE_MIB * MiB, catRaw.ms), '-'],
      ['upload raw (inspect + md5 + sha512)', String(SIZE_MIB), fmt(upRaw.ms / 1000, 2), rate(SIZE_MIB * MiB, upRaw.ms), fmt(upRaw.mb)],
      ['cat streamOptimized > /dev/null', fmt(vmdkSize / MiB, 0), fmt(catVmdk.ms / 1000, 2), rate(vmdkSize, catVmdk.ms), '-'],
      ['upload streamOptimized (inflate every grain)', fmt(vmdkSize / MiB, 0), fmt(upVmdk.ms / 1000, 2), rate(vmdkSize, upVmdk.ms), fmt(upVmdk.mb)],
      ['qemu-img convert raw → streamOptimized', String(SIZE_MIB), fmt(qemuConvert.ms / 1000, 2), rate(SIZE_MIB * MiB, qemuConvert.ms), '-'],
      ['service: open(vmdk), variant produced + streamed', String(SIZE_MIB), fmt(convert.ms / 1000, 2), rate(SIZE_MIB * MiB, convert.ms), fmt(convert.mb)],
      ['service: open(vmdk) again (cached variant)', fmt(vmdkSize / MiB, 0), fmt(cached.ms / 1000, 2), rate(vmdkSize, cached.ms), '-'],
    ];
    const widths = lines[0]?.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length))) ?? [];
    for (const l of lines) process.stdout.write(`${l.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ')}\n`);
    process.stdout.write(`upload raw vs cat: ${fmt((upRaw.ms / catRaw.ms), 1)}x the time; conversion vs qemu-img: ${fmt(convert.ms / qemuConvert.ms, 2)}x; peak RSS growth ${fmt(Math.max(upRaw.mb, upVmdk.mb))} MB (goal < 64)\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
