/**
 * libvirt benchmark against a private libvirtd (scripts/private-libvirtd.sh) booting the tiny
 * real guest (scripts/build-test-guest.sh). Prints:
 *  1. boot time through the whole product: POST /servers (real HTTP API, scheduler, compute
 *     agent, libvirt driver; embedded SQLite, one process) to the guest's marker line on its
 *     serial console, cold (image not in the host's cache) and warm, with its breakdown:
 *     API accepted → scheduled → agent task started → image cache → overlay + XML → define →
 *     start → ACTIVE → guest marker;
 *  2. the driver alone: spawn call to marker, cold and warm, split into our files, libvirt
 *     define and start, and the guest's own boot;
 *  3. the transport: wall time per virsh call (process start + connect + call) for the calls
 *     the driver makes most (dominfo, list --all --managed-save, domstats);
 *  4. power-state sync: one bulk call for N instances.
 * Run: node --import tsx bench/libvirt/run.ts [--api-cold=2] [--api-warm=3] [--warm=3] [--calls=50]
 */
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { ImageSource, InstanceSpec } from '../../src/compute/drivers/driver.js';
import { LibvirtDriver, type LibvirtDriverOptions } from '../../src/compute/drivers/libvirt/index.js';
import { startTestLibvirtd, testVirtType, virsh } from '../../test/support/libvirtd.js';
import { buildTestGuest, testGuestImage, waitForBoots } from '../../test/support/test-guest.js';
import { fmt, percentile } from '../support/stats.js';
import { benchApiBoots, printApiBoots } from './api-boot.js';

const arg = (name: string, dflt: number): number => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a === undefined ? dflt : Number(a.split('=')[1]);
};
const WARM = arg('warm', 3);
const API_COLD = arg('api-cold', 2);
const API_WARM = arg('api-warm', 3);
const CALLS = arg('calls', 50);
const t = (): AbortSignal => AbortSignal.timeout(300_000);

function spec(): InstanceSpec {
  return {
    uuid: randomUUID(), node: 'bench', driverInfo: {}, name: 'bench', hostname: 'bench', projectId: 'p', userId: 'u',
    flavor: { id: '1', name: 'm1.tiny', vcpus: 1, memory_mb: 256, root_gb: 1, ephemeral_gb: 0, swap: 0, extra_specs: {} },
    metadata: {}, keyData: null, userData: null, networks: 'auto',
  };
}

const lv = await startTestLibvirtd();
try {
  let calls: { command: string; ms: number }[] = [];
  const options: LibvirtDriverOptions = {
    virtType: testVirtType(), connectionUri: lv.uri, instancesPath: join(lv.dir, 'instances'), cacheSubdirectory: '_base',
    bridge: 'none', vncEnabled: true, vncListen: '127.0.0.1', vncProxyclientAddress: '127.0.0.1', cpuMode: null, waitSoftRebootSeconds: 60,
    host: 'bench', myIp: '127.0.0.1', removeUnusedBaseImages: true, removeUnusedMinimumAgeSeconds: 86400,
    observeCalls: (command, ms) => calls.push({ command, ms }),
  };
  const guest = await buildTestGuest();
  console.log(`libvirt bench: virt_type=${options.virtType}, guest ${guest}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);

  console.log(`1. boot time through the API (POST /servers → API → scheduler → agent → libvirt → guest marker), ${API_COLD} cold + ${API_WARM} warm:`);
  printApiBoots(await benchApiBoots(lv, guest, API_COLD, API_WARM));

  const driver = new LibvirtDriver(options);
  await driver.init(t());
  const image: ImageSource = await testGuestImage(guest);

  const boot = async (label: string): Promise<string> => {
    const s = spec();
    calls = [];
    const t0 = performance.now();
    await driver.spawn(s, image, t());
    const t1 = performance.now();
    await waitForBoots(join(options.instancesPath, s.uuid, 'console.log'), 1, 300_000);
    const t2 = performance.now();
    const by = (c: string): number => calls.filter((x) => x.command === c).reduce((n, x) => n + x.ms, 0);
    const libvirtMs = calls.reduce((n, x) => n + x.ms, 0);
    console.log(
      `  ${label}: ${fmt(t2 - t0, 0)} ms to marker = spawn ${fmt(t1 - t0, 0)} ms [cache+overlay+xml ${fmt(t1 - t0 - libvirtMs, 0)}, ` +
      `cleanup-check ${fmt(by('destroy') + by('undefine'), 0)}, define ${fmt(by('define'), 0)}, start ${fmt(by('start'), 0)}; ${calls.length} libvirt calls] ` +
      `+ guest boot ${fmt(t2 - t1, 0)} ms`,
    );
    return s.uuid;
  };

  console.log('2. the driver alone (spawn call → marker on the serial console):');
  const booted = [await boot('cold (image downloaded to _base)')];
  for (let i = 0; i < WARM; i++) booted.push(await boot(`warm ${i + 1}`));

  console.log(`3. transport: virsh, one process per call (${CALLS} calls each, with ${booted.length} domains):`);
  const name = `instance-${booted[0] ?? ''}`;
  for (const args of [['dominfo', name], ['list', '--all', '--managed-save'], ['domstats', '--state', '--raw']]) {
    const samples: number[] = [];
    for (let i = 0; i < CALLS; i++) {
      const s0 = performance.now();
      await virsh(lv.uri, ...args);
      samples.push(performance.now() - s0);
    }
    console.log(`  virsh ${args[0] ?? ''}: p50 ${fmt(percentile(samples, 50))} ms, p99 ${fmt(percentile(samples, 99))} ms`);
  }
  const sync: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const s0 = performance.now();
    const states = await driver.listInstanceStates(t());
    if (states.size !== booted.length) throw new Error(`power sync saw ${states.size} of ${booted.length}`);
    sync.push(performance.now() - s0);
  }
  console.log(`4. power sync (listInstanceStates, ${booted.length} instances, 1 call): p50 ${fmt(percentile(sync, 50))} ms`);

  for (const uuid of booted) await driver.destroy({ uuid, node: 'bench', driverInfo: {} }, t());
  await driver.close();
} finally {
  await lv.stop();
}
