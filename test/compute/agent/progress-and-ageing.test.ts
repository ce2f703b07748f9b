import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createComputeAgent, type ComputeAgent } from '../../../src/compute/agent/index.js';
import type { ImageCacheAgeingReport, ImageSource, InstanceRef, InstanceSpec, SpawnHooks, SpawnResult, VncConsole } from '../../../src/compute/drivers/driver.js';
import { FakeDriver } from '../../../src/compute/drivers/fake/index.js';
import type { DatabaseHandle } from '../../../src/db/database.js';
import { getConsole } from '../../../src/db/repos/consoles.js';
import { getInstance } from '../../../src/db/repos/instances.js';
import { createLogger } from '../../../src/log.js';
import { openTestSqlite } from '../../support/databases.js';
import { TestCloud, testConfig } from './harness.js';

/** A fake hypervisor whose spawn reports progress as the test says, and which keeps an image cache. */
class ProgressDriver extends FakeDriver {
  reports: number[] = [];
  #release: (() => void) | undefined;
  #gate: Promise<void> | undefined;
  reached: Promise<void> = Promise.resolve();
  #reached: (() => void) | undefined;
  ageingCalls = 0;

  /** The next spawn reports `reports` then waits until release(). */
  hold(reports: number[]): void {
    this.reports = reports;
    this.#gate = new Promise<void>((r) => (this.#release = r));
    this.reached = new Promise<void>((r) => (this.#reached = r));
  }

  release(): void {
    this.#release?.();
  }

  override async spawn(instance: InstanceSpec, image: ImageSource, signal: AbortSignal, hooks?: SpawnHooks): Promise<SpawnResult> {
    for (const p of this.reports) hooks?.onProgress?.(p);
    this.#reached?.();
    await this.#gate;
    return super.spawn(instance, image, signal);
  }

  override async getVncConsole(instance: InstanceRef, signal: AbortSignal): Promise<VncConsole> {
    signal.throwIfAborted();
    return { host: `esx-for-${instance.uuid.slice(0, 8)}`, port: 5901 };
  }

  async ageImageCache(signal: AbortSignal): Promise<ImageCacheAgeingReport> {
    signal.throwIfAborted();
    this.ageingCalls++;
    return { removed: ['LocalDS_0/old-image'], keptYoung: 2, inUse: 1 };
  }
}

describe('compute agent: build progress and image-cache ageing', () => {
  let h: DatabaseHandle;
  let cloud: TestCloud;
  let driver: ProgressDriver;
  let agent: ComputeAgent;
  const logLines: string[] = [];
  let ageingLogged: (line: string) => void = () => undefined;
  const ageingLine = new Promise<string>((r) => (ageingLogged = r));
  before(async () => {
    h = await openTestSqlite();
    cloud = new TestCloud(h);
    const config = testConfig('c1', '[image_cache]\nmanager_interval = 1\n');
    driver = new ProgressDriver({ ...config.fake, host: 'c1' });
    const logger = createLogger({ level: 'info', destination: new Writable({ write: (chunk: Buffer, _e, cb) => {
      const line = chunk.toString();
      logLines.push(line);
      if (line.includes('image cache ageing')) ageingLogged(line);
      cb();
    } }) });
    agent = createComputeAgent({ db: h.db, bus: h.bus, config, logger, driver, images: cloud.images });
    await agent.start();
    await cloud.addScheduler('controller:scheduler');
  });
  after(async () => {
    await agent.stop();
    await cloud.stop();
    await h.close();
  });

  it('shows the driver’s progress while the image moves, with few writes, and 100 once ACTIVE', async () => {
    // 90 callbacks in a burst, as a transfer calling back per MiB does.
    driver.hold(Array.from({ length: 90 }, (_, i) => i + 1));
    const [uuid = ''] = await cloud.createServers(1);
    await driver.reached;
    const spawning = await cloud.waitFor('progress 90', async () => {
      const row = await getInstance(h.db, uuid);
      return row?.task_state === 'spawning' && row.progress === 90 ? row : undefined;
    });
    assert.equal(spawning.vm_state, 'building');
    // Version counts every write: scheduling and placement, then at most a couple of progress writes.
    const placed = spawning.version;
    driver.release();
    const active = await cloud.settled(uuid);
    assert.equal(active.vm_state, 'active');
    assert.equal(active.progress, 100);
    assert.ok(placed <= 5, `90 progress callbacks made at most 2 progress writes (row version ${placed})`);
  });

  it('keeps progress at 0 for a driver that reports none', async () => {
    driver.hold([]);
    driver.release();
    const [uuid = ''] = await cloud.createServers(1);
    const row = await cloud.settled(uuid);
    assert.equal(row.vm_state, 'active');
    assert.equal(row.progress, 0);
  });

  it('publishes the console endpoint of a built server for the API, and forgets it when the server is deleted', async () => {
    driver.hold([]);
    driver.release();
    const [uuid = ''] = await cloud.createServers(1);
    await cloud.settled(uuid);
    const endpoint = await cloud.waitFor('console published', () => getConsole(h.db, uuid));
    assert.deepEqual([endpoint.protocol, endpoint.host, endpoint.port], ['vnc', `esx-for-${uuid.slice(0, 8)}`, 5901]);
    await cloud.act(uuid, 'deleting', 'delete');
    await cloud.waitFor('server deleted', async () => (await getInstance(h.db, uuid)) === undefined);
    assert.equal(await getConsole(h.db, uuid), undefined);
  });

  it('ages the image cache every [image_cache] manager_interval and logs the report', async () => {
    // No call from the test: the periodic task runs it within manager_interval (1 s).
    const line = await ageingLine;
    assert.ok(driver.ageingCalls >= 1);
    assert.match(line, /image cache ageing removed 1 unused cached image/);
    const parsed = JSON.parse(line) as { removed: string[]; keptYoung: number; inUse: number };
    assert.deepEqual([parsed.removed, parsed.keptYoung, parsed.inUse], [['LocalDS_0/old-image'], 2, 1]);
    assert.deepEqual(await agent.ageImageCache(), { removed: ['LocalDS_0/old-image'], keptYoung: 2, inUse: 1 });
  });
});

describe('compute agent: image-cache ageing disabled', () => {
  it('answers undefined for a driver without an image cache', async () => {
    const h = await openTestSqlite();
    const config = testConfig('c2', '[image_cache]\nmanager_interval = 0\n');
    const agent = createComputeAgent({ db: h.db, bus: h.bus, config, logger: createLogger({ level: 'silent' }), driver: new FakeDriver({ ...config.fake, host: 'c2' }), images: new TestCloud(h).images });
    try {
      await agent.start();
      assert.equal(await agent.ageImageCache(), undefined);
    } finally {
      await agent.stop();
      await h.close();
    }
  });
});
