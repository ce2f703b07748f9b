import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createContext, openMigratedDatabase } from '../../src/cli/context.js';
import { startApi, startCompute, startScheduler } from '../../src/cli/runtime.js';
import type { DatabaseHandle } from '../../src/db/database.js';
import { bootstrap } from '../../src/identity/index.js';
import { ApiClient } from '../../test/support/http-client.js';
import { testVirtType, type TestLibvirtd } from '../../test/support/libvirtd.js';
import { waitForBoots } from '../../test/support/test-guest.js';
import { fmt, percentile } from '../support/stats.js';

/** One boot through the API, every phase as wall-clock ms since the POST was sent. */
export interface ApiBoot {
  readonly label: string;
  readonly phases: Readonly<Record<string, number>>;
}

/** The phases, in order, with what each one ends with. */
export const API_PHASES: readonly (readonly [string, string])[] = [
  ['accepted', 'POST /servers answered 202'],
  ['scheduled', 'scheduler placed it (host and node claimed in the database)'],
  ['agentStarted', 'compute agent took the task (compute__do_build_and_run_instance started)'],
  ['cleanup', 'leftovers of an earlier attempt checked (2 virsh calls, only when its folder exists)'],
  ['image', 'base image in the cache (_base; downloaded from the image service when cold)'],
  ['disks', 'qcow2 overlay(s) created and domain XML written'],
  ['define', 'virsh define'],
  ['start', 'virsh start (QEMU running)'],
  ['active', 'server ACTIVE in the database'],
  ['marker', 'guest marker on the serial console'],
];

interface Deployment {
  readonly admin: ApiClient;
  readonly db: DatabaseHandle;
  readonly logFile: string;
  readonly instancesPath: string;
  stop(): Promise<void>;
}

/**
 * The all-in-one (API + scheduler + compute agent with the libvirt driver, embedded SQLite) in
 * this process, logging to a file whose 'domain started' lines carry the spawn's phase marks.
 */
async function deploy(lv: TestLibvirtd): Promise<Deployment> {
  const dir = mkdtempSync(join(tmpdir(), 'polyvisor-bench-libvirt-'));
  const instancesPath = join(lv.dir, 'instances-api');
  const logFile = join(dir, 'polyvisor.log');
  const ctx = createContext([], {
    DEFAULT: {
      state_path: dir, host: 'bench-kvm', compute_driver: 'libvirt.LibvirtDriver', instances_path: instancesPath, log_file: logFile,
      reserved_host_memory_mb: '0', cpu_allocation_ratio: '16', sync_power_state_interval: '-1',
    },
    api: { port: '0' },
    libvirt: { virt_type: testVirtType(), connection_uri: lv.uri },
  });
  const handle = await openMigratedDatabase(ctx);
  const api = await startApi(ctx, handle);
  const scheduler = await startScheduler(ctx, handle);
  const compute = await startCompute(ctx, handle);
  await bootstrap(handle.db, { adminUsername: 'admin', adminPassword: 'bench-pass', projectName: 'admin' });
  const admin = await ApiClient.login(api.url, 'admin', 'bench-pass', 'admin');
  return {
    admin, db: handle, logFile, instancesPath,
    async stop() {
      await compute.stop();
      await scheduler.stop();
      await api.stop();
      await handle.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function uploadImage(admin: ApiClient, guest: string, name: string): Promise<string> {
  const img = await admin.request<{ id: string }>('POST', '/image/v2/images', { name, disk_format: 'raw', container_format: 'bare', hypervisor_type: 'qemu' });
  // The bytes as they are (ApiClient.request would send a Buffer as JSON).
  const put = await fetch(`${admin.base}/image/v2/images/${img.body.id}/file`, {
    method: 'PUT', headers: { 'x-auth-token': admin.token, 'content-type': 'application/octet-stream' }, body: readFileSync(guest),
  });
  if (put.status !== 204) throw new Error(`image upload failed: ${put.status} ${await put.text()}`);
  return img.body.id;
}

async function eventTimes(d: Deployment, uuid: string, event: string): Promise<{ start: number; finish: number }> {
  const row = await d.db.db
    .selectFrom('instance_action_events as e')
    .innerJoin('instance_actions as a', 'a.id', 'e.action_id')
    .select(['e.start_time', 'e.finish_time'])
    .where('a.instance_uuid', '=', uuid)
    .where('e.event', '=', event)
    .orderBy('e.id', 'desc')
    .executeTakeFirst();
  if (row === undefined) throw new Error(`no ${event} event for ${uuid}`);
  return { start: Date.parse(row.start_time), finish: row.finish_time === null ? Number.NaN : Date.parse(row.finish_time) };
}

async function spawnMarks(d: Deployment, uuid: string): Promise<Record<string, number>> {
  for (;;) {
    const text = await readFile(d.logFile, 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      if (!line.includes(uuid) || !line.includes('domain started')) continue;
      const parsed = JSON.parse(line) as { spawnMarks?: Record<string, number> };
      if (parsed.spawnMarks !== undefined) return parsed.spawnMarks;
    }
    // The log is written asynchronously: its line follows the server's ACTIVE by a few ms.
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function bootOnce(d: Deployment, imageId: string, label: string): Promise<ApiBoot> {
  const t0 = Date.now();
  const res = await d.admin.request<{ server: { id: string } }>('POST', '/compute/v2.1/servers', { server: { name: `bench-${label}`, imageRef: imageId, flavorRef: 'bench.tcg' } });
  const accepted = Date.now();
  if (res.status !== 202) throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body)}`);
  const uuid = res.body.server.id;
  // The scheduler records no event when it places: watch the row (in this process, every 5 ms)
  // for the placement (a host set) and for ACTIVE.
  let scheduled = Number.NaN;
  let active = Number.NaN;
  for (;;) {
    const row = await d.db.db.selectFrom('instances').select(['host', 'vm_state', 'task_state']).where('uuid', '=', uuid).executeTakeFirstOrThrow();
    if (Number.isNaN(scheduled) && row.host !== null) scheduled = Date.now();
    if (row.vm_state === 'active' && row.task_state === null) {
      active = Date.now();
      break;
    }
    if (row.vm_state === 'error') throw new Error(`boot ${label} failed: ${JSON.stringify((await d.admin.request('GET', `/compute/v2.1/servers/${uuid}`)).body)}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  await waitForBoots(join(d.instancesPath, uuid, 'console.log'), 1, 300_000);
  const marker = Date.now();
  const build = await eventTimes(d, uuid, 'compute__do_build_and_run_instance');
  const m = await spawnMarks(d, uuid);
  const at = (k: string): number => (m[k] ?? Number.NaN) - t0;
  const phases = {
    accepted: accepted - t0,
    // Polled every 5 ms: never later than the agent's start, which follows the placement.
    scheduled: Math.min(scheduled, build.start) - t0,
    agentStarted: build.start - t0,
    // The agent loads the image record and the instance spec, then calls spawn.
    cleanup: at('cleanup'),
    image: at('image'),
    disks: at('xml'),
    define: at('define'),
    start: at('start'),
    active: active - t0,
    marker: marker - t0,
  };
  const del = await d.admin.request('DELETE', `/compute/v2.1/servers/${uuid}`);
  if (del.status !== 204) throw new Error(`delete failed: ${del.status}`);
  // The next boot starts on a quiet host (and nothing is left for the driver-level section).
  while ((await d.db.db.selectFrom('instances').select(['deleted']).where('uuid', '=', uuid).executeTakeFirstOrThrow()).deleted === 0) {
    await new Promise((r) => setTimeout(r, 20));
  }
  return { label, phases };
}

/**
 * Boot time through the whole product: POST /servers → API → scheduler → compute agent →
 * libvirt, to the guest's marker on its serial console. `cold` boots each use an image not yet
 * in the compute host's cache (uploaded fresh); `warm` boots reuse a cached one.
 */
export async function benchApiBoots(lv: TestLibvirtd, guest: string, cold: number, warm: number): Promise<ApiBoot[]> {
  const d = await deploy(lv);
  try {
    const flavor = await d.admin.request('POST', '/compute/v2.1/flavors', { flavor: { name: 'bench.tcg', id: 'bench.tcg', ram: 128, vcpus: 1, disk: 1 } });
    if (flavor.status !== 200) throw new Error(`flavor create failed: ${flavor.status} ${JSON.stringify(flavor.body)}`);
    const boots: ApiBoot[] = [];
    let imageId = '';
    for (let i = 0; i < cold; i++) {
      imageId = await uploadImage(d.admin, guest, `bench-guest-${i}`);
      boots.push(await bootOnce(d, imageId, `cold ${i + 1}`));
    }
    for (let i = 0; i < warm; i++) boots.push(await bootOnce(d, imageId, `warm ${i + 1}`));
    return boots;
  } finally {
    await d.stop();
  }
}

/**
 * Prints each boot's timeline (ms since the POST was sent), then each step on its own (p50 of
 * the cold and of the warm boots). The API's 202 is not a step of the chain: the scheduler and
 * the agent may start before the answer reaches the client (they run on notifications).
 */
export function printApiBoots(boots: readonly ApiBoot[]): void {
  const cols = API_PHASES.map(([k]) => k);
  console.log(`  ${'boot'.padEnd(8)}${cols.map((c) => c.padStart(13)).join('')}   (ms since the POST was sent)`);
  for (const b of boots) console.log(`  ${b.label.padEnd(8)}${cols.map((c) => fmt(b.phases[c] ?? Number.NaN, 0).padStart(13)).join('')}`);
  const chain = cols.filter((c) => c !== 'accepted');
  const own = (b: ApiBoot, i: number): number => (b.phases[chain[i] ?? ''] ?? Number.NaN) - (i === 0 ? 0 : (b.phases[chain[i - 1] ?? ''] ?? Number.NaN));
  const colds = boots.filter((b) => b.label.startsWith('cold'));
  const warms = boots.filter((b) => b.label.startsWith('warm'));
  const p50 = (xs: number[]): string => fmt(percentile(xs, 50), 0).padStart(6);
  console.log('  step by step, p50 ms (cold | warm):');
  console.log(`    ${'accepted'.padEnd(13)} ${p50(colds.map((b) => b.phases['accepted'] ?? Number.NaN))} | ${p50(warms.map((b) => b.phases['accepted'] ?? Number.NaN))}  ${API_PHASES[0]?.[1] ?? ''} (overlaps the next steps)`);
  chain.forEach((k, i) => {
    const what = API_PHASES.find(([p]) => p === k)?.[1] ?? '';
    console.log(`    ${k.padEnd(13)} ${p50(colds.map((b) => own(b, i)))} | ${p50(warms.map((b) => own(b, i)))}  ${what}`);
  });
  console.log(`    ${'total'.padEnd(13)} ${p50(colds.map((b) => b.phases['marker'] ?? Number.NaN))} | ${p50(warms.map((b) => b.phases['marker'] ?? Number.NaN))}  POST → guest marker`);
}
