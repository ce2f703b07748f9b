import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { configFromText } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/options.js';
import { createComputeAgent, type ComputeAgent } from '../../../src/compute/agent/index.js';
import type { ImageProvider, ImageSource } from '../../../src/compute/drivers/driver.js';
import { FakeDriver } from '../../../src/compute/drivers/fake/index.js';
import { createScheduler, type Scheduler } from '../../../src/compute/scheduler/index.js';
import type { FlavorSnapshot } from '../../../src/compute/states.js';
import type { DatabaseHandle } from '../../../src/db/database.js';
import { getInstance, insertInstances, startInstanceAction, updateInstance } from '../../../src/db/repos/instances.js';
import type { InstanceRow } from '../../../src/db/schema.js';
import { now } from '../../../src/db/time.js';
import { addGroupMembers } from '../../../src/db/repos/server-groups.js';
import { NotFoundError } from '../../../src/errors.js';
import type { Bus } from '../../../src/db/bus.js';
import { silentLogger } from '../../../src/log.js';

/**
 * A small cloud without HTTP for agent and scheduler tests: a real database, fake
 * hypervisors, agents, schedulers, and helpers that write instances and actions exactly
 * as the Compute API does (its contract), then wait for the outcome in the database.
 */

export const FLAVOR: FlavorSnapshot = { id: '1', name: 'm1.tiny', vcpus: 1, memory_mb: 64, root_gb: 1, ephemeral_gb: 0, swap: 0, extra_specs: {} };

export const IMAGE_ID = '11111111-2222-3333-4444-555555555555';

/** Config for one host; `extra` is more nova.conf text (sections allowed). */
export function testConfig(host: string, extra = ''): Config {
  const text = `[DEFAULT]
host = ${host}
cpu_allocation_ratio = 1.0
reserved_host_memory_mb = 0
[fake]
nodes = 1
vcpus = 30
${extra}`;
  // Options given twice (defaults above, overrides in extra): the later one wins, as in oslo.config.
  return configFromText(text).config;
}

/** An in-test image service: knows IMAGE_ID (and any id added), streams nothing. */
export class TestImages implements ImageProvider {
  readonly ids = new Set([IMAGE_ID]);
  async get(imageId: string, signal: AbortSignal): Promise<ImageSource> {
    signal.throwIfAborted();
    if (!this.ids.has(imageId)) throw new NotFoundError('Image', imageId);
    return {
      id: imageId,
      name: 'cirros',
      diskFormat: 'raw',
      containerFormat: 'bare',
      size: 0,
      virtualSize: 0,
      properties: {},
      open: async () => Readable.from([]),
    };
  }
}

export interface ComputeHost {
  readonly host: string;
  readonly config: Config;
  readonly driver: FakeDriver;
  agent: ComputeAgent;
}

export class TestCloud {
  readonly images = new TestImages();
  readonly computes = new Map<string, ComputeHost>();
  readonly schedulers: Scheduler[] = [];

  constructor(readonly h: DatabaseHandle) {}

  get db() {
    return this.h.db;
  }

  /** Starts a compute agent with a fake driver (options from `extra` config text). */
  async addCompute(host: string, extra = '', options: { statePath?: string; handle?: DatabaseHandle } = {}): Promise<ComputeHost> {
    const config = testConfig(host, extra);
    const driver = new FakeDriver({ ...config.fake, host, ...(options.statePath !== undefined ? { statePath: options.statePath } : {}) });
    const handle = options.handle ?? this.h;
    const agent = createComputeAgent({ db: handle.db, bus: handle.bus, config, logger: silentLogger, driver, images: this.images });
    await agent.start();
    const c = { host, config, driver, agent };
    this.computes.set(host, c);
    return c;
  }

  async addScheduler(identity: string, extra = '', handle: DatabaseHandle = this.h): Promise<Scheduler> {
    const config = testConfig('controller', extra);
    const s = createScheduler({ db: handle.db, bus: handle.bus, config, logger: silentLogger, identity });
    await s.start();
    this.schedulers.push(s);
    return s;
  }

  /** What the API does for POST /servers: rows in 'scheduling', a create action each, one notification each. */
  async createServers(n: number, options: { flavor?: FlavorSnapshot; az?: string | null; imageRef?: string; name?: string; group?: string; schedulerHints?: { same_host?: string[]; different_host?: string[] } } = {}): Promise<string[]> {
    const t = now();
    const reservation = `r-${randomUUID().slice(0, 8)}`;
    const uuids = Array.from({ length: n }, () => randomUUID());
    await insertInstances(
      this.db,
      uuids.map((uuid, i) => ({
        uuid,
        display_name: `${options.name ?? 'vm'}-${i + 1}`,
        display_description: null,
        hostname: `${options.name ?? 'vm'}-${i + 1}`,
        project_id: 'project-a',
        user_id: 'user-a',
        flavor: JSON.stringify(options.flavor ?? FLAVOR),
        image_ref: options.imageRef ?? IMAGE_ID,
        key_name: null,
        key_data: null,
        user_data: null,
        networks: '"auto"',
        availability_zone: null,
        requested_availability_zone: options.az ?? null,
        host: null,
        node: null,
        vm_state: 'building',
        task_state: 'scheduling',
        power_state: 0,
        reservation_id: reservation,
        launch_index: i,
        retry_nodes: '[]',
        created_at: t,
        updated_at: t,
        ...(options.schedulerHints === undefined ? {} : { scheduler_hints: JSON.stringify(options.schedulerHints) }),
      })),
    );
    if (options.group !== undefined) await addGroupMembers(this.db, options.group, uuids);
    for (const uuid of uuids) {
      await startInstanceAction(this.db, { instanceUuid: uuid, action: 'create', requestId: `req-${uuid}`, userId: 'user-a', projectId: 'project-a' });
    }
    for (const uuid of uuids) await this.h.bus.notify('scheduler', uuid);
    return uuids;
  }

  /** What the API does for a server action: guarded task_state update, an action, a wake-up for the host. */
  async act(uuid: string, taskState: string, action: string, expected: { vmState?: string | string[] } = {}): Promise<InstanceRow> {
    const guard = action === 'delete' ? { ...expected } : { taskState: null, ...expected };
    // One transaction, as the API does: an agent woken in between must not see the task without its action.
    const row = await this.db.transaction().execute(async (trx) => {
      const updated = await updateInstance(trx, uuid, guard, { task_state: taskState });
      if (updated) await startInstanceAction(trx, { instanceUuid: uuid, action, requestId: `req-${action}-${uuid}`, userId: 'user-a', projectId: 'project-a' });
      return updated;
    });
    if (!row) throw new Error(`${action} of ${uuid} refused: the instance is not in the expected state`);
    await this.h.bus.notify('instances', row.host ?? '');
    return row;
  }

  /** Resolves when `check` holds, re-checking on every notification and every few ms; rejects after `timeoutMs`. */
  waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
    return waitOnBus(this.h.bus, what, check, timeoutMs);
  }

  /** Waits until the instance has no task in progress (or is deleted); returns the row. */
  async settled(uuid: string, timeoutMs?: number): Promise<InstanceRow> {
    return this.waitFor(
      `instance ${uuid} to settle`,
      async () => {
        const row = await getInstance(this.db, uuid, { includeDeleted: true });
        return row && row.task_state === null && row.vm_state !== 'building' ? row : undefined;
      },
      timeoutMs,
    );
  }

  async stop(): Promise<void> {
    for (const s of this.schedulers.splice(0)) await s.stop();
    for (const c of this.computes.values()) await c.agent.stop();
    this.computes.clear();
  }
}

/** Resolves when `check` holds, re-checking on every Bus notification and every 10 ms; rejects after `timeoutMs`. */
export async function waitOnBus<T>(bus: Bus, what: string, check: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let kick: (() => void) | undefined;
  const unsub = (['instances', 'scheduler', 'nodes'] as const).map((c) => bus.subscribe(c, () => kick?.()));
  try {
    for (;;) {
      const v = await check();
      if (v !== undefined && v !== false) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        kick = resolve;
        setTimeout(resolve, 10).unref();
      });
    }
  } finally {
    for (const u of unsub) u();
  }
}
