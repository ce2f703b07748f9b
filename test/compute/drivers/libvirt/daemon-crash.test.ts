import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { DriverError, type InstanceRef, type InstanceSpec } from '../../../../src/compute/drivers/driver.js';
import { LibvirtDriver } from '../../../../src/compute/drivers/libvirt/index.js';
import { PowerState } from '../../../../src/compute/states.js';
import { startTestLibvirtd, virsh, type TestLibvirtd } from '../../../support/libvirtd.js';
import { rawImage } from '../contract.js';
import { testOptions } from './support.js';

const t = (): AbortSignal => AbortSignal.timeout(120_000);
const WORD: Record<number, string> = { [PowerState.RUNNING]: 'running', [PowerState.PAUSED]: 'paused', [PowerState.SHUTDOWN]: 'shut off', [PowerState.SUSPENDED]: 'saved' };

/** kill -9 libvirtd during 10 operations: each one succeeds or fails with a DriverError; after a restart the driver and virsh agree. */
describe('libvirt driver: libvirtd killed -9 during operations', () => {
  let lv: TestLibvirtd;
  let driver: LibvirtDriver;
  const refs: InstanceRef[] = [];

  before(async () => {
    lv = await startTestLibvirtd();
    driver = new LibvirtDriver(testOptions(lv, { waitSoftRebootSeconds: 1 }));
    await driver.init(t());
    const image = rawImage(1024 * 1024);
    for (let i = 0; i < 5; i++) {
      const s: InstanceSpec = {
        uuid: randomUUID(), node: 'n', driverInfo: {}, name: `crash-${i}`, hostname: `crash-${i}`, projectId: 'p', userId: 'u',
        flavor: { id: '1', name: 'm1.tiny', vcpus: 1, memory_mb: 128, root_gb: 1, ephemeral_gb: 0, swap: 0, extra_specs: {} },
        metadata: {}, keyData: null, userData: null, networks: 'none',
      };
      const { driverInfo } = await driver.spawn(s, image, t());
      refs.push({ uuid: s.uuid, node: 'n', driverInfo });
    }
  });
  after(async () => {
    await driver.close();
    await lv.stop();
  });

  it('every operation ends cleanly, and after a restart listInstanceStates matches virsh list --all', async () => {
    const ops: (() => Promise<void>)[] = refs.flatMap((r) => [
      () => driver.pause(r, t()), () => driver.powerOff(r, { timeoutSeconds: 0 }, t()),
    ]);
    const results = Promise.allSettled(ops.map((op) => op()));
    await lv.kill9();
    const settled = await results;
    assert.equal(settled.length, 10);
    for (const s of settled) {
      if (s.status === 'rejected') assert.ok(s.reason instanceof DriverError, String(s.reason));
    }
    // While the daemon is down, calls fail fast with a retryable error.
    await assert.rejects(driver.listInstanceStates(t()), (e: unknown) => e instanceof DriverError && e.retryable);

    await lv.restart();
    const states = await driver.listInstanceStates(t());
    const listed = await virsh(lv.uri, 'list', '--all', '--managed-save');
    for (const r of refs) {
      const state = states.get(r.uuid);
      assert.ok(state !== undefined, `instance ${r.uuid} survived the daemon crash`);
      const line = listed.split('\n').find((l) => l.includes(r.uuid)) ?? '';
      assert.ok(line.trim().endsWith(WORD[state.powerState] ?? '?'), `driver says ${state.powerState}, virsh: ${line}`);
      // and the instance can still be driven to a known state
      await driver.powerOn(r, t());
    }
    for (const r of refs) assert.equal((await driver.getInstanceState(r, t())).powerState, PowerState.RUNNING);
  });
});
