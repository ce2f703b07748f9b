import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ImageContentError, inspectBuffer } from '../../src/image/formats/index.js';
import { ImageFixtures, makeIso } from './formats/fixtures.js';

/**
 * Feeds mutated headers of every format to the streaming inspector: it must answer with a
 * result or an ImageContentError (a 400 for the user), never crash, hang or balloon.
 * FUZZ_ITERATIONS sets the count (the acceptance run is 100000); FUZZ_SEED replays a run.
 */
const ITERATIONS = Number(process.env['FUZZ_ITERATIONS'] ?? 3000);
const SEED = Number(process.env['FUZZ_SEED'] ?? 20261121);
const LIMITS = { maxVirtualSize: 64 * 1024 * 1024 * 1024 };

/** xorshift32: deterministic, so a failure is replayable from its seed and iteration. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

const INTERESTING_32 = [0, 1, 2, 3, 0x7f, 0x80, 0xff, 0x100, 0x200, 0x1000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

function mutate(seed: Buffer, hot: readonly [number, number][], r: () => number): Buffer {
  const out = Buffer.from(seed);
  const pickOffset = (): number => {
    const [start, end] = hot[Math.floor(r() * hot.length)] ?? [0, 512];
    return Math.min(out.length - 1, start + Math.floor(r() * Math.max(1, end - start)));
  };
  const n = 1 + Math.floor(r() * 4);
  let data = out;
  for (let k = 0; k < n && data.length > 0; k++) {
    const kind = Math.floor(r() * 6);
    const at = pickOffset();
    if (kind === 0) data[at] = Math.floor(r() * 256);
    else if (kind === 1) data[at] = (data[at] ?? 0) ^ (1 << Math.floor(r() * 8));
    else if (kind === 2 && at + 4 <= data.length) {
      const v = INTERESTING_32[Math.floor(r() * INTERESTING_32.length)] ?? 0;
      if (r() < 0.5) data.writeUInt32LE(v, at);
      else data.writeUInt32BE(v, at);
    } else if (kind === 3 && at + 8 <= data.length) {
      data.writeBigUInt64LE(BigInt(Math.floor(r() * 2 ** 53)) << BigInt(Math.floor(r() * 11)), at);
    } else if (kind === 4) data = data.subarray(0, Math.floor(r() * data.length));
    else data = Buffer.concat([data.subarray(0, at), data.subarray(at + 1 + Math.floor(r() * 64))]);
  }
  return data;
}

describe('fuzzing the format inspectors with mutated headers', () => {
  const fx = new ImageFixtures();
  const seeds: { name: string; data: Buffer; hot: [number, number][] }[] = [];
  before(() => {
    fx.raw('small.raw', 1024 * 1024);
    fx.raw('dense.raw', 256 * 1024, true);
    fx.qemuImg('convert', '-f', 'raw', '-O', 'qcow2', '-o', 'cluster_size=4096', 'small.raw', 'v3.qcow2');
    fx.qemuImg('convert', '-f', 'raw', '-O', 'qcow2', '-o', 'compat=0.10,cluster_size=4096', 'small.raw', 'v2.qcow2');
    fx.qemuImg('create', '-f', 'qcow2', '-o', 'cluster_size=4096', '-b', 'v3.qcow2', '-F', 'qcow2', 'child.qcow2');
    fx.qemuImg('convert', '-f', 'raw', '-O', 'vmdk', 'small.raw', 'sparse.vmdk');
    fx.qemuImg('convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=streamOptimized', 'dense.raw', 'stream.vmdk');
    fx.qemuImg('convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=monolithicFlat', 'small.raw', 'flat.vmdk');
    const vmdkHot: [number, number][] = [[0, 512], [512, 1400], [65536, 66560]];
    seeds.push(
      { name: 'qcow2 v3', data: fx.read('v3.qcow2'), hot: [[0, 512], [4096, 12288]] },
      { name: 'qcow2 v2', data: fx.read('v2.qcow2'), hot: [[0, 512], [4096, 12288]] },
      { name: 'qcow2 with backing file', data: fx.read('child.qcow2'), hot: [[0, 512]] },
      { name: 'vmdk monolithicSparse', data: fx.read('sparse.vmdk'), hot: [...vmdkHot, [10752, 16384]] },
      { name: 'vmdk streamOptimized', data: fx.read('stream.vmdk'), hot: vmdkHot },
      { name: 'vmdk descriptor', data: fx.read('flat.vmdk'), hot: [[0, fx.read('flat.vmdk').length]] },
      { name: 'iso 9660', data: makeIso(24), hot: [[32768, 32904]] },
      { name: 'raw', data: fx.read('small.raw').subarray(0, 65536), hot: [[0, 64]] },
    );
  });
  after(() => fx.close());

  it(`survives ${ITERATIONS} mutated inputs (seed ${SEED})`, async () => {
    const r = rng(SEED);
    const rssStart = process.memoryUsage().rss;
    let refused = 0;
    let accepted = 0;
    let slowest = 0;
    let rssPeak = rssStart;
    for (let i = 0; i < ITERATIONS; i++) {
      // Uploads are asynchronous: let the event loop turn as it would between them. (Node frees
      // a zlib engine that failed on corrupt data only then; a purely synchronous loop of
      // 100,000 inspections would measure that, not the inspector.)
      if (i % 100 === 0) await new Promise((r) => setImmediate(r));
      const seed = seeds[i % seeds.length];
      if (!seed) continue;
      const input = mutate(seed.data, seed.hot, r);
      const chunk = 1 + Math.floor(r() * 70000);
      const t0 = performance.now();
      try {
        inspectBuffer(input, LIMITS, chunk);
        accepted++;
      } catch (err) {
        if (!(err instanceof ImageContentError)) {
          assert.fail(`iteration ${i} (${seed.name}, seed ${SEED}) threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
        }
        assert.ok(err.message.length > 10 && err.message.length < 1000, `iteration ${i}: message is readable`);
        refused++;
      }
      slowest = Math.max(slowest, performance.now() - t0);
      if (i % 1000 === 0) rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
      if (process.env['FUZZ_TRACE'] && i % 5000 === 0) process.stdout.write(`# ${i} rss ${(process.memoryUsage().rss / 1048576).toFixed(0)} ext ${(process.memoryUsage().external / 1048576).toFixed(0)} heap ${(process.memoryUsage().heapUsed / 1048576).toFixed(0)} slowest ${slowest.toFixed(0)}\n`);
    }
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    const growthMb = (rssPeak - rssStart) / 1024 / 1024;
    process.stdout.write(`# fuzz: ${ITERATIONS} inputs, ${refused} refused, ${accepted} accepted, slowest ${slowest.toFixed(1)} ms, RSS growth ${growthMb.toFixed(1)} MB\n`);
    assert.ok(refused > ITERATIONS / 10, 'mutations do get refused');
    assert.ok(accepted > 0, 'harmless mutations are accepted');
    assert.ok(slowest < 2000, `no input takes long (slowest ${slowest.toFixed(0)} ms)`);
    assert.ok(growthMb < 160, `memory stays bounded (grew ${growthMb.toFixed(0)} MB)`);
  });
});
