/**
 * bench/api: the all-in-one (API + scheduler + compute agent with the fake driver, embedded
 * SQLite) measured through real HTTP on loopback.
 *   1. create → ACTIVE throughput: N servers created by concurrent clients, timed until all are ACTIVE.
 *   2. GET /servers/detail?limit=1000 latency with 10,000 servers in the database.
 * Run: node --import tsx bench/api/run.ts [--servers 1000] [--concurrency 50] [--detail-servers 10000]
 * Reference (not re-measured here): Nova Zed with its fake driver reaches 1.7–1.9 servers/s for 50
 * concurrent creates and p50 85 ms for GET /servers/detail with 50 servers (DESIGN.md).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createContext, openMigratedDatabase } from '../../src/cli/context.js';
import { startApi, startCompute, startScheduler } from '../../src/cli/runtime.js';
import { insertInstances } from '../../src/db/repos/instances.js';
import { now } from '../../src/db/time.js';
import { bootstrap } from '../../src/identity/index.js';
import { ApiClient } from '../../test/support/http-client.js';
import { fmt, percentile } from '../support/stats.js';

const { values } = parseArgs({
  options: {
    servers: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '50' },
    'detail-servers': { type: 'string', default: '10000' },
    'detail-requests': { type: 'string', default: '100' },
  },
});
const N = Number(values.servers);
const CONCURRENCY = Number(values.concurrency);
const DETAIL_SERVERS = Number(values['detail-servers']);
const DETAIL_REQUESTS = Number(values['detail-requests']);

const dir = mkdtempSync(join(tmpdir(), 'polyvisor-bench-api-'));
const ctx = createContext([], {
  DEFAULT: { state_path: dir, host: 'bench-host' },
  api: { port: '0' },
  fake: { nodes: '5', vcpus: '100000', memory_mb: '100000000', local_gb: '10000000' },
  quota: { instances: '-1', cores: '-1', ram: '-1' },
});
ctx.logger.level = 'warn';
const handle = await openMigratedDatabase(ctx);
const api = await startApi(ctx, handle);
const scheduler = await startScheduler(ctx, handle);
const compute = await startCompute(ctx, handle);
await bootstrap(handle.db, { adminUsername: 'admin', adminPassword: 'bench-pass', projectName: 'admin' });
const admin = await ApiClient.login(api.url, 'admin', 'bench-pass', 'admin');

const img = await admin.request<{ id: string }>('POST', '/image/v2/images', { name: 'bench', disk_format: 'raw', container_format: 'bare' });
await admin.request('PUT', `/image/v2/images/${img.body.id}/file`, Buffer.alloc(4096), { 'content-type': 'application/octet-stream' });
const imageId = img.body.id;

// --- 1. create → ACTIVE throughput
console.log(`bench/api: create → ACTIVE, ${N} servers, ${CONCURRENCY} concurrent clients, fake driver, SQLite`);
const createLatencies: number[] = [];
const start = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (next < N) {
      const i = next++;
      const t0 = performance.now();
      const res = await admin.request('POST', '/compute/v2.1/servers', { server: { name: `b-${i}`, imageRef: imageId, flavorRef: '1' } });
      if (res.status !== 202) throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body)}`);
      createLatencies.push(performance.now() - t0);
    }
  }),
);
const accepted = performance.now();
for (;;) {
  const row = await handle.db
    .selectFrom('instances')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('vm_state', '=', 'active')
    .where('task_state', 'is', null)
    .where('deleted', '=', 0)
    .executeTakeFirstOrThrow();
  if (Number(row.n) >= N) break;
  const failed = await handle.db.selectFrom('instances').select('uuid').where('vm_state', '=', 'error').executeTakeFirst();
  if (failed) throw new Error(`a server went to ERROR: ${failed.uuid}`);
  await new Promise((r) => setTimeout(r, 5));
}
const done = performance.now();
const seconds = (done - start) / 1000;
console.log(`  all ${N} accepted in ${fmt((accepted - start) / 1000, 2)} s; all ACTIVE after ${fmt(seconds, 2)} s`);
console.log(`  throughput: ${fmt(N / seconds)} servers/s create→ACTIVE (goal ≥ 100; Nova Zed fake driver: 1.7–1.9)`);
console.log(`  POST /servers latency: p50 ${fmt(percentile(createLatencies, 50))} ms, p99 ${fmt(percentile(createLatencies, 99))} ms`);

// --- 2. GET /servers/detail?limit=1000 with DETAIL_SERVERS servers
const have = N;
const missing = Math.max(0, DETAIL_SERVERS - have);
const flavor = JSON.stringify({ id: '1', name: 'm1.tiny', vcpus: 1, memory_mb: 512, root_gb: 1, ephemeral_gb: 0, swap: 0, extra_specs: {} });
const projectId = admin.token ? (await admin.request<{ token: { project: { id: string } } }>('GET', '/identity/v3/auth/tokens', undefined, { 'x-subject-token': admin.token })).body.token.project.id : '';
for (let off = 0; off < missing; off += 500) {
  const t = now();
  await insertInstances(
    handle.db,
    Array.from({ length: Math.min(500, missing - off) }, (_, i) => ({
      uuid: randomUUID(),
      display_name: `filler-${off + i}`,
      display_description: null,
      hostname: `filler-${off + i}`,
      project_id: projectId,
      user_id: 'bench',
      flavor,
      image_ref: imageId,
      key_name: null,
      key_data: null,
      user_data: null,
      availability_zone: 'nova',
      requested_availability_zone: null,
      host: 'bench-host',
      node: 'bench-host-fake-0',
      vm_state: 'active',
      task_state: null,
      power_state: 1,
      reservation_id: 'r-filler',
      created_at: t,
      updated_at: t,
      launched_at: t,
    })),
  );
}
console.log(`bench/api: GET /servers/detail?limit=1000 with ${DETAIL_SERVERS} servers in the database, ${DETAIL_REQUESTS} requests`);
const detail: number[] = [];
for (let i = 0; i < DETAIL_REQUESTS; i++) {
  const t0 = performance.now();
  const res = await admin.request<{ servers: unknown[] }>('GET', '/compute/v2.1/servers/detail?limit=1000');
  detail.push(performance.now() - t0);
  if (res.status !== 200 || res.body.servers.length !== 1000) throw new Error(`detail returned ${res.status} with ${res.body.servers.length} servers`);
}
console.log(`  latency: p50 ${fmt(percentile(detail, 50))} ms, p99 ${fmt(percentile(detail, 99))} ms (goal p99 ≤ 100 ms; Nova Zed: p50 85 ms with 50 servers)`);

await compute.stop();
await scheduler.stop();
await api.stop();
await handle.close();
rmSync(dir, { recursive: true, force: true });
