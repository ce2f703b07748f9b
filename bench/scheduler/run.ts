/**
 * Scheduler benchmark: placements per second and per-placement latency (filters, weighers
 * and the atomic claim transaction in a real SQLite database) with 1,000 and 10,000
 * compute nodes, through the scheduler worker exactly as it runs (leases, batches).
 * Baseline in the same run: a naïve scheduler that re-reads every node from the database
 * for each placement (what a cache-less filter scheduler does).
 *
 *   node --import tsx bench/scheduler/run.ts [placements=20000]
 *   (BENCH_SIZES=10000 to pick sizes, BENCH_NO_BASELINE=1 to skip the slow baseline)
 *
 * Latency is per placement, from the start of its filtering to the commit that makes its
 * claim durable (SQLite group commit: up to 2 ms of placements share one commit). The CPU
 * figure is this process's CPU time per placement, which stays meaningful on a busy machine.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configFromText } from '../../src/config/load.js';
import { filtersFromConfig } from '../../src/compute/scheduler/filters/index.js';
import { claimPlacement } from '../../src/compute/scheduler/claim.js';
import { HostCache } from '../../src/compute/scheduler/host-cache.js';
import { HostSelector } from '../../src/compute/scheduler/host-selector.js';
import { buildRequestSpec } from '../../src/compute/scheduler/request-spec.js';
import { SchedulerWorker } from '../../src/compute/scheduler/scheduler-worker.js';
import { weighersFromConfig } from '../../src/compute/scheduler/weighers/index.js';
import { openDatabase, type DatabaseHandle } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { now } from '../../src/db/time.js';
import { silentLogger } from '../../src/log.js';

const PLACEMENTS = Number(process.argv[2] ?? 20_000);
const BASELINE_PLACEMENTS = 300;
const config = configFromText('[DEFAULT]\nhost = bench\n').config;
const FLAVOR = JSON.stringify({ id: '2', name: 'm1.small', vcpus: 1, memory_mb: 2048, root_gb: 20, ephemeral_gb: 0, swap: 0, extra_specs: {} });

async function seed(h: DatabaseHandle, nodes: number): Promise<void> {
  const t = now();
  // No agents run here: heartbeats dated an hour ahead keep every service up for the whole run.
  const alive = new Date(Date.now() + 3_600_000).toISOString();
  const chunk = 200;
  for (let i = 0; i < nodes; i += chunk) {
    const n = Math.min(chunk, nodes - i);
    const services = await h.db
      .insertInto('services')
      .values(Array.from({ length: n }, (_, j) => ({ uuid: randomUUID(), host: `cmp${i + j}`, binary: 'nova-compute', topic: 'compute', disabled: 0 as const, disabled_reason: null, forced_down: 0 as const, last_seen_at: alive, version: 1, created_at: t, updated_at: t })))
      .returning(['id', 'host'])
      .execute();
    await h.db
      .insertInto('compute_nodes')
      .values(
        services.map((s, j) => ({
          uuid: randomUUID(),
          service_id: s.id,
          hypervisor_hostname: `${s.host}-node`,
          // A mixed estate: vCenter clusters and KVM hosts, two zones, varied sizes.
          hypervisor_type: (i + j) % 3 === 0 ? 'VMware vCenter Server' : 'QEMU',
          hypervisor_version: (i + j) % 3 === 0 ? 7000000 : 7002000,
          host_ip: '10.0.0.1',
          cpu_info: '{"arch":"x86_64"}',
          availability_zone: (i + j) % 2 === 0 ? 'az1' : 'az2',
          vcpus: 32 + ((i + j) % 4) * 16,
          memory_mb: 262144,
          local_gb: 4096,
          vcpus_used: 0,
          memory_mb_used: 0,
          local_gb_used: 0,
          running_vms: 0,
          cpu_allocation_ratio: 4,
          ram_allocation_ratio: 1.5,
          disk_allocation_ratio: 1,
          reserved_host_memory_mb: 512,
          reserved_host_disk_mb: 0,
          capabilities: '{"architecture":"x86_64"}',
          deleted: 0 as const,
          created_at: t,
          updated_at: t,
        })),
      )
      .execute();
  }
}

async function addInstances(h: DatabaseHandle, count: number): Promise<void> {
  const t = now();
  for (let i = 0; i < count; i += 500) {
    const n = Math.min(500, count - i);
    await h.db
      .insertInto('instances')
      .values(
        Array.from({ length: n }, (_, j) => ({
          uuid: randomUUID(),
          display_name: `vm${i + j}`,
          display_description: null,
          hostname: `vm${i + j}`,
          project_id: 'p',
          user_id: 'u',
          flavor: FLAVOR,
          image_ref: 'img',
          key_name: null,
          key_data: null,
          user_data: null,
          availability_zone: null,
          requested_availability_zone: (i + j) % 4 === 0 ? 'az1' : null,
          host: null,
          node: null,
          vm_state: 'building',
          task_state: 'scheduling',
          power_state: 0,
          reservation_id: 'r',
          launch_index: j,
          created_at: t,
          updated_at: t,
        })),
      )
      .execute();
  }
}

function stats(ms: number[]): { p50: number; p99: number; max: number } {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
  return { p50: at(0.5), p99: at(0.99), max: s[s.length - 1] ?? 0 };
}

function selectorFor(): HostSelector {
  return new HostSelector(filtersFromConfig(config.filter_scheduler.enabled_filters), weighersFromConfig(config.filter_scheduler), {
    defaultAvailabilityZone: 'nova',
  });
}

async function openFresh(dir: string, name: string, nodes: number): Promise<DatabaseHandle> {
  const h = await openDatabase(`sqlite:///${join(dir, `${name}.sqlite`)}`, dir);
  await migrateToLatest(h);
  await seed(h, nodes);
  return h;
}

async function runCached(dir: string, nodes: number): Promise<void> {
  const h = await openFresh(dir, `cached-${nodes}`, nodes);
  await addInstances(h, PLACEMENTS);
  const cache = new HostCache(h.db, 60);
  const t0 = performance.now();
  await cache.reload();
  const loadMs = performance.now() - t0;
  const latencies: number[] = [];
  const worker = new SchedulerWorker({
    db: h.db,
    bus: h.bus,
    logger: silentLogger,
    identity: 'bench',
    cache,
    selector: selectorFor(),
    maxAttempts: 3,
    hostSubsetSize: 1,
    defaultScheduleZone: null,
    defaultAvailabilityZone: 'nova',
    schedulerHost: 'bench',
    onPlacement: (ms) => latencies.push(ms),
  });
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  await worker.wake();
  const cpu = process.cpuUsage(cpu0);
  const cpuUs = (cpu.user + cpu.system) / Math.max(1, worker.placed + worker.failed);
  const secs = (performance.now() - start) / 1000;
  const s = stats(latencies);
  const over = await h.db
    .selectFrom('compute_nodes')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where((eb) => eb('vcpus_used', '>', eb.ref('vcpus').$castTo<number>()))
    .executeTakeFirst();
  console.log(
    `cached scheduler  ${String(nodes).padStart(6)} nodes: ${worker.placed} placed, ${worker.failed} failed in ${secs.toFixed(2)} s = ` +
      `${Math.round(worker.placed / secs)} placements/s (incl. leases); per placement p50 ${s.p50.toFixed(3)} ms, p99 ${s.p99.toFixed(3)} ms, max ${s.max.toFixed(1)} ms; ` +
      `CPU ${cpuUs.toFixed(0)} µs/placement; cache load ${loadMs.toFixed(0)} ms; nodes over 4x vCPUs: ${Number(over?.n ?? 0)}`,
  );
  await h.close();
}

/** The baseline: every placement re-reads all nodes, then filters, weighs and claims the same way. */
async function runNaive(dir: string, nodes: number): Promise<void> {
  const h = await openFresh(dir, `naive-${nodes}`, nodes);
  await addInstances(h, BASELINE_PLACEMENTS);
  const rows = await h.db.selectFrom('instances').selectAll().execute();
  const selector = selectorFor();
  const latencies: number[] = [];
  const start = performance.now();
  for (const row of rows) {
    const t = performance.now();
    const cache = new HostCache(h.db, 60);
    await cache.reload();
    const spec = buildRequestSpec({ ...row, image_properties: null }, null);
    const [best] = selector.select(cache, spec, 1);
    if (best) await claimPlacement(h.db, row, best, { vcpus: spec.vcpus, memoryMb: spec.memoryMb, diskGb: spec.diskGb }, best.availabilityZone ?? 'nova');
    latencies.push(performance.now() - t);
  }
  const secs = (performance.now() - start) / 1000;
  const s = stats(latencies);
  console.log(
    `naive (DB scan)   ${String(nodes).padStart(6)} nodes: ${rows.length} placements in ${secs.toFixed(2)} s = ${Math.round(rows.length / secs)} placements/s; ` +
      `p50 ${s.p50.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms`,
  );
  await h.close();
}

const dir = mkdtempSync(join(tmpdir(), 'polyvisor-bench-scheduler-'));
try {
  console.log(`scheduler benchmark: SQLite (WAL), ${PLACEMENTS} placements per size, filters ${config.filter_scheduler.enabled_filters.join(',')}, weigher RAMWeigher`);
  for (const nodes of (process.env.BENCH_SIZES ?? "1000,10000").split(",").map(Number)) {
    await runCached(dir, nodes);
    if (process.env.BENCH_NO_BASELINE === undefined) await runNaive(dir, nodes);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
