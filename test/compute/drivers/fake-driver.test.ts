import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { DriverError, InstanceNotFoundError, type ImageSource, type InstanceSpec } from '../../../src/compute/drivers/driver.js';
import { FakeDriver, type FakeDriverOptions } from '../../../src/compute/drivers/fake/index.js';
import { PowerState } from '../../../src/compute/states.js';

const dir = mkdtempSync(join(tmpdir(), 'polyvisor-fake-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const OPTS: FakeDriverOptions = { nodes: 2, vcpus: 8, memory_mb: 4096, local_gb: 100, hypervisor_type: 'fake', spawn_delay_ms: 0, operation_delay_ms: 0, host: 'h1' };
const IMAGE: ImageSource = { id: 'img', name: null, diskFormat: 'raw', containerFormat: 'bare', size: 0, virtualSize: 0, properties: {}, open: async () => Readable.from([]) };
const signal = AbortSignal.timeout(10_000);

function spec(uuid: string, node = 'h1-fake-1'): InstanceSpec {
  return {
    uuid,
    node,
    driverInfo: {},
    name: uuid,
    hostname: uuid,
    projectId: 'p',
    userId: 'u',
    flavor: { id: '1', name: 'f', vcpus: 1, memory_mb: 64, root_gb: 1, ephemeral_gb: 0, swap: 0, extra_specs: {} },
    metadata: {},
    keyData: null,
    userData: null,
    networks: 'none',
  };
}

describe('fake driver', () => {
  it('reports one node per configured count, named after the host', async () => {
    const d = new FakeDriver(OPTS);
    const nodes = await d.listNodes(signal);
    assert.deepEqual(nodes.map((n) => n.nodename), ['h1-fake-1', 'h1-fake-2']);
    assert.deepEqual([nodes[0]?.vcpus, nodes[0]?.memoryMb, nodes[0]?.localGb, nodes[0]?.hypervisorType], [8, 4096, 100, 'fake']);
    assert.equal(d.capabilities.supportsPause, true);
  });

  it('keeps the driver contract: idempotent power operations, destroy of a missing VM succeeds', async () => {
    const d = new FakeDriver(OPTS);
    await d.spawn(spec('a'), IMAGE, signal);
    const ref = { uuid: 'a', node: 'h1-fake-1', driverInfo: {} };
    await d.powerOff(ref, { timeoutSeconds: 1 }, signal);
    await d.powerOff(ref, { timeoutSeconds: 1 }, signal);
    assert.equal((await d.getInstanceState(ref, signal)).powerState, PowerState.SHUTDOWN);
    await d.powerOn(ref, signal);
    await d.suspend(ref, signal);
    assert.equal((await d.listInstanceStates(signal)).get('a')?.powerState, PowerState.SUSPENDED);
    await d.resume(ref, signal);
    await d.pause(ref, signal);
    await d.unpause(ref, signal);
    await d.destroy(ref, signal);
    await d.destroy(ref, signal);
    assert.deepEqual(await d.getInstanceState(ref, signal), { exists: false, powerState: PowerState.NOSTATE });
    await assert.rejects(d.powerOn(ref, signal), InstanceNotFoundError);
    await assert.rejects(d.spawn(spec('b', 'elsewhere'), IMAGE, signal), /not served by host h1/);
  });

  it('fails injected operations the given number of times, leaving nothing behind', async () => {
    const d = new FakeDriver(OPTS);
    d.inject({ op: 'spawn', node: 'h1-fake-2', times: 2, retryable: true, message: 'no datastore' });
    await d.spawn(spec('ok', 'h1-fake-1'), IMAGE, signal);
    for (let i = 0; i < 2; i++) {
      await assert.rejects(d.spawn(spec('x', 'h1-fake-2'), IMAGE, signal), (e: unknown) => e instanceof DriverError && e.retryable && e.message === 'no datastore');
    }
    assert.deepEqual(d.vms().map((v) => v.uuid), ['ok'], 'a failed spawn leaves no VM');
    await d.spawn(spec('x', 'h1-fake-2'), IMAGE, signal);
    assert.equal(d.vms().length, 2);
  });

  it('honours delays and aborts', async () => {
    const d = new FakeDriver({ ...OPTS, spawn_delay_ms: 60_000 });
    const ctl = new AbortController();
    const p = d.spawn(spec('slow'), IMAGE, ctl.signal);
    ctl.abort();
    await assert.rejects(p, (e: unknown) => e instanceof DriverError && e.code === 'aborted');
    assert.deepEqual(d.vms(), []);
  });

  it('remembers its VMs across a restart through the state file, written atomically', async () => {
    const statePath = join(dir, 'state', 'fake.json');
    const d1 = new FakeDriver({ ...OPTS, statePath });
    await Promise.all(['v1', 'v2', 'v3'].map((u) => d1.spawn(spec(u), IMAGE, signal)));
    await d1.powerOff({ uuid: 'v2', node: 'h1-fake-1', driverInfo: {} }, { timeoutSeconds: 1 }, signal);
    const d2 = new FakeDriver({ ...OPTS, statePath });
    assert.deepEqual(
      d2.vms().map((v) => [v.uuid, v.powerState]).sort(),
      [['v1', 1], ['v2', 4], ['v3', 1]],
    );
    assert.ok(JSON.parse(readFileSync(statePath, 'utf8')));
    writeFileSync(statePath, '{"vms": [{"uuid": 5}]}');
    assert.throws(() => new FakeDriver({ ...OPTS, statePath }), /fake hypervisor state .* is not valid: Error: vms\[0\] is malformed/);
  });
});
