import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { createApiServer } from '../../../src/api/server.js';
import { computeRoutes, seedDefaultFlavors } from '../../../src/compute/api/index.js';
import { configFromText } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/options.js';
import type { BusChannel } from '../../../src/db/bus.js';
import type { DatabaseHandle } from '../../../src/db/database.js';
import { addAggregateHost, createAggregate } from '../../../src/db/repos/aggregates.js';
import type { NewInstance } from '../../../src/db/schema.js';
import { now } from '../../../src/db/time.js';
import { silentLogger } from '../../../src/log.js';
import { openTestSqlite } from '../../support/databases.js';
import { fakeAuthenticator } from '../../support/fake-auth.js';

/** An API server with only the compute routes, fake tokens, a fresh SQLite database and a notification recorder. */
export interface ComputeHarness {
  readonly app: FastifyInstance;
  readonly h: DatabaseHandle;
  readonly config: Config;
  readonly notes: { channel: BusChannel; payload: string }[];
  call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, token: string | null, body?: unknown, headers?: Record<string, string>): Promise<Res>;
  close(): Promise<void>;
}

export interface Res {
  readonly status: number;
  readonly headers: Record<string, string | string[] | number | undefined>;
  // Responses are JSON documents of many shapes; tests walk them with `at()`.
  readonly body: Json;
  readonly text: string;
}

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export const PUBLIC_URL = 'http://api.test:8774';
export const IMAGE_ID = '11111111-1111-4111-8111-111111111111';

export async function startHarness(configText = ''): Promise<ComputeHarness> {
  const h = await openTestSqlite();
  const { config } = configFromText(configText);
  const app = createApiServer({ logger: silentLogger, authenticator: fakeAuthenticator, maxBodySize: config.api.max_request_body_size });
  await app.register(computeRoutes({ db: h.db, bus: h.bus, config, logger: silentLogger, dialect: h.dialect, publicUrl: () => PUBLIC_URL }), {
    prefix: '/compute',
  });
  await app.ready();
  await seedDefaultFlavors(h.db);
  await addImage(h, IMAGE_ID, { visibility: 'public', owner: 'p-admin' });
  const notes: { channel: BusChannel; payload: string }[] = [];
  for (const channel of ['instances', 'scheduler', 'nodes'] as const) h.bus.subscribe(channel, (payload) => notes.push({ channel, payload }));
  return {
    app,
    h,
    config,
    notes,
    async call(method, url, token, body, headers = {}) {
      const res = await app.inject({
        method,
        url,
        headers: { ...(token === null ? {} : { 'x-auth-token': token }), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      const text = res.body;
      let parsed: Json = null;
      if (text !== '') {
        try {
          parsed = JSON.parse(text) as Json;
        } catch {
          parsed = text;
        }
      }
      return { status: res.statusCode, headers: res.headers, body: parsed, text };
    },
    async close() {
      await app.close();
      await h.close();
    },
  };
}

/** Walks a JSON document by keys and indexes; undefined when the path does not exist. */
export function at(doc: Json | undefined, ...path: (string | number)[]): Json | undefined {
  let cur: Json | undefined = doc;
  for (const p of path) {
    if (cur === null || cur === undefined || typeof cur !== 'object') return undefined;
    cur = Array.isArray(cur) ? cur[p as number] : cur[p as string];
  }
  return cur;
}

/** The string at a path; throws (failing the test) when it is anything else. */
export function str(doc: Json | undefined, ...path: (string | number)[]): string {
  const v = at(doc, ...path);
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  throw new Error(`expected a string at ${path.join('.')}, got ${JSON.stringify(v)}`);
}

export function list(doc: Json | undefined, ...path: (string | number)[]): Json[] {
  const v = at(doc, ...path);
  if (!Array.isArray(v)) throw new Error(`expected an array at ${path.join('.')}, got ${JSON.stringify(v)}`);
  return v;
}

export async function addImage(
  h: DatabaseHandle,
  id: string,
  o: { visibility?: string; owner?: string; status?: string; minRam?: number; minDisk?: number } = {},
): Promise<void> {
  const t = now();
  await h.db
    .insertInto('images')
    .values({
      id,
      name: `image-${id.slice(0, 4)}`,
      status: o.status ?? 'active',
      disk_format: 'qcow2',
      container_format: 'bare',
      visibility: o.visibility ?? 'public',
      protected: 0,
      owner: o.owner ?? 'p-admin',
      size: 1024,
      virtual_size: 1024,
      checksum: null,
      os_hash_algo: null,
      os_hash_value: null,
      min_disk: o.minDisk ?? 0,
      min_ram: o.minRam ?? 0,
      properties: '{}',
      location: null,
      created_at: t,
      updated_at: t,
      deleted: 0,
    })
    .execute();
}

/** A compute service with one node, heartbeating now unless told otherwise. */
export async function addComputeNode(
  h: DatabaseHandle,
  o: { host: string; node?: string; zone?: string | null; lastSeen?: string | null; disabled?: 0 | 1; binary?: string } = { host: 'cmp1' },
): Promise<{ serviceId: number; nodeId: number }> {
  const t = now();
  const svc = await h.db
    .insertInto('services')
    .values({
      uuid: randomUUID(),
      host: o.host,
      binary: o.binary ?? 'nova-compute',
      topic: 'compute',
      disabled: o.disabled ?? 0,
      disabled_reason: null,
      forced_down: 0,
      last_seen_at: o.lastSeen === undefined ? t : o.lastSeen,
      version: 1,
      created_at: t,
      updated_at: t,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  if ((o.binary ?? 'nova-compute') !== 'nova-compute') return { serviceId: svc.id, nodeId: -1 };
  const node = await h.db
    .insertInto('compute_nodes')
    .values({
      uuid: randomUUID(),
      service_id: svc.id,
      hypervisor_hostname: o.node ?? `${o.host}-node`,
      hypervisor_type: 'fake',
      hypervisor_version: 1000,
      host_ip: '10.0.0.1',
      cpu_info: '{}',
      availability_zone: o.zone ?? null,
      vcpus: 16,
      memory_mb: 32768,
      local_gb: 500,
      vcpus_used: 0,
      memory_mb_used: 0,
      local_gb_used: 0,
      running_vms: 0,
      cpu_allocation_ratio: 4,
      ram_allocation_ratio: 1.5,
      disk_allocation_ratio: 1,
      reserved_host_memory_mb: 512,
      reserved_host_disk_mb: 0,
      capabilities: '{}',
      deleted: 0,
      created_at: t,
      updated_at: t,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  // Zones come from aggregates: put the host in an aggregate named after its zone.
  if (o.zone !== undefined && o.zone !== null) {
    const agg = await createAggregate(h.db, h.dialect, 'nova', { name: `agg-${o.zone}`, zone: o.zone });
    const id = agg.ok ? agg.aggregate.row.id : (await h.db.selectFrom('aggregates').select('id').where('name', '=', `agg-${o.zone}`).executeTakeFirstOrThrow()).id;
    const added = await addAggregateHost(h.db, h.dialect, 'nova', id, o.host);
    if (!added.ok) throw new Error(`could not add ${o.host} to zone ${o.zone}: ${added.reason}`);
  }
  return { serviceId: svc.id, nodeId: node.id };
}

/** An instance row as an agent would have left it (placed and running unless told otherwise). */
export function instance(o: Partial<NewInstance> & { uuid?: string } = {}): NewInstance {
  const t = o.created_at ?? now();
  const uuid = o.uuid ?? randomUUID();
  return {
    uuid,
    display_name: 'vm',
    display_description: null,
    hostname: 'vm',
    project_id: 'p-a',
    user_id: 'u-a',
    flavor: JSON.stringify({ id: '1', name: 'm1.tiny', vcpus: 1, memory_mb: 512, root_gb: 1, ephemeral_gb: 0, swap: 0, extra_specs: {} }),
    image_ref: IMAGE_ID,
    key_name: null,
    key_data: null,
    user_data: null,
    availability_zone: 'nova',
    requested_availability_zone: null,
    host: 'cmp1',
    node: 'cmp1-node',
    vm_state: 'active',
    task_state: null,
    power_state: 1,
    reservation_id: 'r-test0001',
    created_at: t,
    updated_at: t,
    ...o,
  };
}

export const SERVER = (extra: Record<string, unknown> = {}) => ({ server: { name: 'web', imageRef: IMAGE_ID, flavorRef: '1', ...extra } });
