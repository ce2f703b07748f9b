import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DriverError, UnsupportedOperationError, type InstanceRef } from '../../../../src/compute/drivers/driver.js';
import { VmwareDriver } from '../../../../src/compute/drivers/vmware/index.js';
import { PowerState } from '../../../../src/compute/states.js';
import { startTestVcsim, type TestVcsim } from '../../../vsphere/vcsim-harness.js';
import { pyvmomiView } from './pyvmomi.js';
import { datastorePath, instanceSpec, simOptions, testImage } from './support.js';

const DISK = Buffer.alloc(1024 * 1024, 1);
const t = (): AbortSignal => AbortSignal.timeout(30_000);

describe('VMware driver lifecycle', () => {
  let sim: TestVcsim;
  let driver: VmwareDriver;
  let node: string;
  let ref: InstanceRef;
  const state = async (): Promise<string | undefined> => (await pyvmomiView(sim)).vms.find((v) => v.name === ref.uuid)?.powerState;

  before(async () => {
    sim = await startTestVcsim({ clusters: 1, hostsPerCluster: 2 });
    driver = new VmwareDriver(simOptions(sim, { clusterNames: ['DC0_C0'] }));
    await driver.init(t());
    node = (await driver.listNodes(t()))[0]?.nodename ?? '';
    const inst = instanceSpec(node);
    const { driverInfo } = await driver.spawn(inst, testImage(DISK), t());
    ref = { uuid: inst.uuid, node, driverInfo };
  });
  after(async () => {
    await driver.close();
    await sim.stop();
  });

  it('power off / on, idempotent', async () => {
    await driver.powerOff(ref, { timeoutSeconds: 0 }, t());
    assert.equal(await state(), 'poweredOff');
    await driver.powerOff(ref, { timeoutSeconds: 0 }, t());
    assert.deepEqual(await driver.getInstanceState(ref, t()), { exists: true, powerState: PowerState.SHUTDOWN });
    await driver.powerOn(ref, t());
    await driver.powerOn(ref, t());
    assert.equal(await state(), 'poweredOn');
  });

  it('soft reboot without VMware Tools falls back to a reset; hard reboot resets', async () => {
    const before = driver.client.counter.count('ResetVM_Task');
    await driver.reboot(ref, 'SOFT', t());
    await driver.reboot(ref, 'HARD', t());
    assert.equal(driver.client.counter.count('ResetVM_Task') - before, 2);
    assert.equal(await state(), 'poweredOn');
  });

  it('suspend and resume', async () => {
    await driver.suspend(ref, t());
    assert.equal(await state(), 'suspended');
    assert.equal((await driver.listInstanceStates(t())).get(ref.uuid)?.powerState, PowerState.SUSPENDED);
    await driver.resume(ref, t());
    assert.equal(await state(), 'poweredOn');
  });

  it('pause is not supported: a clear unsupported error', async () => {
    assert.equal(driver.capabilities.supportsPause, false);
    await assert.rejects(driver.pause(), (err: unknown) => err instanceof UnsupportedOperationError && /pause is not supported by the VMware vCenter driver/.test(err.message));
  });

  it('power sync: every instance of the vCenter in ONE PropertyCollector call, vcsim\'s own VMs left out', async () => {
    const extra = instanceSpec(node);
    await driver.spawn(extra, testImage(DISK), t());
    driver.client.counter.reset();
    const states = await driver.listInstanceStates(t());
    assert.equal(driver.client.counter.total, 1);
    assert.deepEqual([...states.keys()].sort(), [ref.uuid, extra.uuid].sort());
    assert.equal(states.get(extra.uuid)?.powerState, PowerState.RUNNING);
  });

  it('a lost driverInfo still finds the VM by its instance uuid', async () => {
    assert.deepEqual(await driver.getInstanceState({ ...ref, driverInfo: {} }, t()), { exists: true, powerState: PowerState.RUNNING });
  });

  it('destroy removes the VM and its files; destroying again succeeds', async () => {
    assert.ok(existsSync(join(datastorePath(sim), ref.uuid)), 'the VM folder exists before');
    await driver.destroy(ref, t());
    assert.equal(await state(), undefined);
    assert.ok(!existsSync(join(datastorePath(sim), ref.uuid)));
    await driver.destroy(ref, t());
    await driver.destroy({ ...ref, driverInfo: {} }, t());
    assert.deepEqual(await driver.getInstanceState(ref, t()), { exists: false, powerState: PowerState.NOSTATE });
    await assert.rejects(driver.powerOn(ref, t()), (err: unknown) => err instanceof DriverError);
  });
});
