/**
 * vSphere client benchmark against the vcsim harness. Prints:
 *  1. round trips and wall time of inventory, create VM, power on, power off and destroy,
 *     at 0 ms and at 20 ms injected round-trip latency (a TCP proxy in front of vcsim);
 *  2. upload and download of a 1 GiB file to a datastore: resident-memory growth and
 *     throughput, against `curl -T` / `curl -o` of the same file in the same run.
 * Run: node --import tsx bench/vsphere/run.ts [--size-mib=1024] [--repeat=5] [--rounds=3]
 */
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client, type VirtualMachineConfigSpec } from '../../src/vsphere/index.js';
import { startLatencyProxy } from '../../src/vsphere/sim/latency-proxy.js';
import { startVcsim, type Vcsim } from '../../src/vsphere/sim/vcsim.js';

const arg = (name: string, dflt: number): number => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a === undefined ? dflt : Number(a.split('=')[1]);
};
const SIZE_MIB = arg('size-mib', 1024);
const REPEAT = arg('repeat', 5);
const ROUNDS = arg('rounds', 3);
const run = promisify(execFile);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

async function operations(sim: Vcsim, rttMs: number): Promise<void> {
  const target = new URL(sim.url);
  const proxy = await startLatencyProxy({ host: target.hostname, port: Number(target.port) }, rttMs);
  const client = await Client.connect({ url: `https://127.0.0.1:${proxy.port}/sdk`, username: sim.username, password: sim.password, caFile: sim.caFile ?? '' });
  try {
    const inv = await client.inventory();
    const dc = inv.byType('Datacenter')[0];
    const cluster = inv.byType('ClusterComputeResource')[0];
    if (dc === undefined || cluster === undefined) throw new Error('no datacenter/cluster');
    const { vmFolder } = await client.datacenter(dc.ref).folders();
    const pool = (await client.cluster(cluster.ref).resourcePool()).ref;
    // Warm the task waiter's collector once, as a long-running driver would have.
    const warm = await vmFolder.createVM(spec('warm'), pool);
    await warm.destroy();

    const rows: Record<string, { rt: number[]; ms: number[] }> = {};
    const measure = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
      client.counter.reset();
      const t0 = performance.now();
      const v = await fn();
      const ms = performance.now() - t0;
      const row = (rows[name] ??= { rt: [], ms: [] });
      row.rt.push(client.counter.total);
      row.ms.push(ms);
      return v;
    };
    for (let i = 0; i < REPEAT; i++) {
      await measure('inventory', () => client.inventory());
      const vm = await measure('create VM', () => vmFolder.createVM(spec(`bench-${rttMs}-${i}`), pool));
      await measure('power on', () => vm.powerOn());
      await measure('power off', () => vm.powerOff());
      await measure('destroy', () => vm.destroy());
    }
    console.log(`\n## operations at ${rttMs} ms injected RTT (median of ${REPEAT})`);
    console.log('| operation | round trips | wall time (ms) |');
    console.log('|---|---|---|');
    for (const [name, r] of Object.entries(rows)) console.log(`| ${name} | ${median(r.rt)} | ${median(r.ms).toFixed(1)} |`);
  } finally {
    await client.close();
    await proxy.close();
  }
}

function spec(name: string): VirtualMachineConfigSpec {
  return {
    name, guestId: 'otherGuest64', numCPUs: 1, memoryMB: 128, files: { vmPathName: '[LocalDS_0]' },
    deviceChange: [
      { operation: 'add', device: { _type: 'VirtualLsiLogicController', key: 1000, busNumber: 0, sharedBus: 'noSharing' } },
      { operation: 'add', fileOperation: 'create', device: { _type: 'VirtualDisk', key: -1, controllerKey: 1000, unitNumber: 0, capacityInKB: 1048576, backing: { _type: 'VirtualDiskFlatVer2BackingInfo', fileName: '', diskMode: 'persistent', thinProvisioned: true } } },
    ],
  };
}

/** Peak RSS growth while `fn` runs, sampled every 20 ms. */
async function withRss<T>(fn: () => Promise<T>): Promise<{ value: T; growthMiB: number; seconds: number }> {
  globalThis.gc?.();
  const base = process.memoryUsage().rss;
  let peak = base;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const t0 = performance.now();
  try {
    const value = await fn();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { value, growthMiB: (peak - base) / 2 ** 20, seconds: (performance.now() - t0) / 1000 };
  } finally {
    clearInterval(timer);
  }
}

async function transfers(sim: Vcsim, dir: string): Promise<boolean> {
  const bytes = SIZE_MIB * 2 ** 20;
  const src = join(dir, 'src.bin');
  await new Promise<void>((resolve, reject) => {
    const out = createWriteStream(src);
    const block = Buffer.alloc(1 << 20);
    for (let i = 0; i < block.length; i += 4) block.writeUInt32LE((i * 2654435761) >>> 0, i);
    let n = 0;
    const write = (): void => {
      while (n < SIZE_MIB) {
        n++;
        if (!out.write(block)) {
          out.once('drain', write);
          return;
        }
      }
      out.end(() => resolve());
    };
    out.on('error', reject);
    write();
  });
  const client = await Client.connect({ url: sim.url, username: sim.username, password: sim.password, caFile: sim.caFile ?? '' });
  const base = new URL(sim.url).origin;
  const folder = (p: string): string => `${base}/folder/${p}?dcPath=DC0&dsName=LocalDS_0`;
  const curl = async (args: string[]): Promise<number> => {
    const t0 = performance.now();
    await run('curl', ['-sS', '--fail', '--cacert', sim.caFile ?? '', ...args], { maxBuffer: 1 << 20 });
    return (performance.now() - t0) / 1000;
  };
  const mibps = (s: number): number => SIZE_MIB / s;
  try {
    // Alternate curl and ours, ROUNDS times each way, and compare medians: the machine is shared.
    const up = { curl: [] as number[], ours: [] as number[], rss: [] as number[] };
    const down = { curl: [] as number[], ours: [] as number[], rss: [] as number[] };
    for (let r = 0; r < ROUNDS; r++) {
      up.curl.push(await curl(['-T', src, folder('curl.bin')]));
      const u = await withRss(() => client.files.upload({ datacenter: 'DC0', datastore: 'LocalDS_0', path: 'ours.bin' }, src));
      up.ours.push(u.seconds);
      up.rss.push(u.growthMiB);
      down.curl.push(await curl(['-o', join(dir, 'curl-down.bin'), folder('curl.bin')]));
      await unlink(join(dir, 'curl-down.bin'));
      const d = await withRss(() => client.files.download({ datacenter: 'DC0', datastore: 'LocalDS_0', path: 'ours.bin' }, join(dir, 'ours-down.bin')));
      if (d.value !== bytes) throw new Error(`downloaded ${d.value} bytes, expected ${bytes}`);
      down.ours.push(d.seconds);
      down.rss.push(d.growthMiB);
      await unlink(join(dir, 'ours-down.bin'));
    }
    console.log(`\n## datastore transfer of ${SIZE_MIB} MiB over HTTPS (median of ${ROUNDS} alternating rounds)`);
    console.log('| direction | curl MiB/s | ours MiB/s | ours/curl | peak RSS growth (MiB) | rounds ours/curl MiB/s |');
    console.log('|---|---|---|---|---|---|');
    let ok = true;
    for (const [name, t] of [['upload', up], ['download', down]] as const) {
      const c = mibps(median(t.curl));
      const o = mibps(median(t.ours));
      const rss = Math.max(...t.rss);
      const each = t.ours.map((s, i) => `${mibps(s).toFixed(0)}/${mibps(t.curl[i] ?? 1).toFixed(0)}`).join(', ');
      console.log(`| ${name} | ${c.toFixed(0)} | ${o.toFixed(0)} | ${((o / c) * 100).toFixed(0)}% | ${rss.toFixed(1)} | ${each} |`);
      ok &&= o / c >= 0.8 && rss < 64;
    }
    console.log(`\ntransfer targets (≥ 80% of curl, RSS growth < 64 MiB): ${ok ? 'met' : 'NOT met'}`);
    return ok;
  } finally {
    await client.close();
  }
}

const sim = await startVcsim({ tls: true, vms: 0, updateIntervalMs: 10 });
const dir = await mkdtemp(join(tmpdir(), 'polyvisor-bench-'));
let ok = true;
try {
  console.log(`vcsim ${sim.version} at ${sim.url}`);
  await operations(sim, 0);
  await operations(sim, 20);
  ok = await transfers(sim, dir);
} finally {
  await sim.stop();
  await rm(dir, { recursive: true, force: true });
}
process.exitCode = ok ? 0 : 1;
