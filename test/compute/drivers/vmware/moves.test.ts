import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DriverError, type InstanceRef, type InstanceSpec } from '../../../../src/compute/drivers/driver.js';
import { VmwareDriver } from '../../../../src/compute/drivers/vmware/index.js';
import { PowerState, type FlavorSnapshot } from '../../../../src/compute/states.js';
import { startTestVcsim, type TestVcsim } from '../../../vsphere/vcsim-harness.js';
import { diskSizes, pyvmomiVm, type PyVmPlacement } from './pyvmomi-vm.js';
import { FLAVOR, instanceSpec, simOptions, testImage } from './support.js';

const DISK = Buffer.alloc(1024 * 1024, 1);
const GiB_KB = 1024 * 1024;
const t = (): AbortSignal => AbortSignal.timeout(30_000);
const BIG: FlavorSnapshot = { id: '3', name: 'm1.medium', vcpus: 2, memory_mb: 1024, root_gb: 2, ephemeral_gb: 1, swap: 0, extra_specs: {} };
const TINY_DISK: FlavorSnapshot = { ...FLAVOR, id: '9', name: 'm1.nodisk', root_gb: 1 };

async function placement(sim: TestVcsim, uuid: string): Promise<PyVmPlacement> {
  const p = await pyvmomiVm(sim, uuid);
  if (p === null) throw new Error(`vcsim has no VM ${uuid}`);
  return p;
}

describe('VMware driver moves: resize, cold migration, vMotion (vcsim, 2 clusters)', () => {
  let sim: TestVcsim;
  let driver: VmwareDriver;
  let n0: string;
  let n1: string;
  const vmOf = (uuid: string): Promise<PyVmPlacement | null> => pyvmomiVm(sim, uuid);
  const boot = async (node: string, flavor: FlavorSnapshot = FLAVOR): Promise<{ spec: InstanceSpec; ref: InstanceRef }> => {
    const spec = instanceSpec(node, { flavor });
    const { driverInfo } = await driver.spawn(spec, testImage(DISK), t());
    return { spec, ref: { uuid: spec.uuid, node, driverInfo } };
  };
  /** SOAP round trips of one call, from the client's own counter. */
  const trips = async (fn: () => Promise<unknown>): Promise<number> => {
    driver.client.counter.reset();
    await fn();
    return driver.client.counter.total;
  };
  const figures: Record<string, number> = {};

  before(async () => {
    sim = await startTestVcsim({ clusters: 2, hostsPerCluster: 2 });
    driver = new VmwareDriver(simOptions(sim));
    await driver.init(t());
    const nodes = (await driver.listNodes(t())).map((n) => n.nodename);
    [n0 = '', n1 = ''] = nodes;
    assert.equal(nodes.length, 2);
  });
  after(async () => {
    await driver.close();
    await sim.stop();
    console.log(`SOAP round trips per step: ${JSON.stringify(figures)}`);
  });

  it('offers every move method, so the agent reports supports_migrate and supports_live_migration', () => {
    for (const m of ['migrateDiskAndPowerOff', 'finishMigration', 'confirmMigration', 'finishRevertMigration', 'liveMigrate', 'postLiveMigrationAtDestination'] as const) {
      assert.equal(typeof driver[m], 'function', m);
    }
  });

  it('resize on the same node: vCPUs, memory, root disk grown, ephemeral added; revert restores vCPUs/memory and power', async () => {
    const { spec, ref } = await boot(n0);
    assert.deepEqual(diskSizes(await vmOf(spec.uuid)), { root: GiB_KB, others: [] });

    figures['resize (source: power off + reconfigure)'] = await trips(() => driver.migrateDiskAndPowerOff(ref, { host: 'h', node: n0 }, BIG, t()));
    let vm = await vmOf(spec.uuid);
    assert.equal(vm?.powerState, 'poweredOff');
    assert.equal(vm?.numCPU, 2);
    assert.equal(vm?.memoryMB, 1024);
    assert.deepEqual(diskSizes(vm), { root: 2 * GiB_KB, others: [GiB_KB] }, 'root (still the linked clone of the cached image) grown to 2 GiB, a 1 GiB ephemeral disk added');

    let finished: Readonly<Record<string, unknown>> = {};
    figures['finish (destination, same node: power on)'] = await trips(async () => {
      finished = (await driver.finishMigration({ ...spec, flavor: BIG, driverInfo: ref.driverInfo }, testImage(DISK), { powerOn: true }, t())).driverInfo;
    });
    assert.equal((await vmOf(spec.uuid))?.powerState, 'poweredOn');
    assert.equal(finished['movePending'], true);

    // Revert: the agent destroys "the destination's copy" first; on vSphere that is the same VM, so it is only released.
    figures['revert (destination destroy = release)'] = await trips(() => driver.destroy({ uuid: spec.uuid, node: n0, driverInfo: finished }, t()));
    vm = await vmOf(spec.uuid);
    assert.ok(vm, 'the VM survives the destination-side destroy of a revert');
    assert.equal(vm.powerState, 'poweredOff');
    figures['revert (source: reconfigure + power on)'] = await trips(() => driver.finishRevertMigration({ uuid: spec.uuid, node: n0, driverInfo: {} }, { powerOn: true }, t()));
    vm = await vmOf(spec.uuid);
    assert.equal(vm?.powerState, 'poweredOn');
    assert.equal(vm?.numCPU, 1);
    assert.equal(vm?.memoryMB, 512);
    assert.equal(diskSizes(vm).root, 2 * GiB_KB, 'a grown disk cannot shrink: it keeps its size');
    assert.equal(vm?.extraConfig['polyvisor.move'] ?? '', '', 'nothing is kept for a revert any more');
    assert.deepEqual(await driver.getInstanceState(ref, t()), { exists: true, powerState: PowerState.RUNNING });
    // A second revert (an interrupted one resumed) changes nothing.
    await driver.finishRevertMigration({ uuid: spec.uuid, node: n0, driverInfo: {} }, { powerOn: true }, t());
    assert.equal((await vmOf(spec.uuid))?.numCPU, 1);
  });

  it('resize then confirm: the new flavor stays and the revert record goes; a later delete really deletes', async () => {
    const { spec, ref } = await boot(n0);
    await driver.migrateDiskAndPowerOff(ref, { host: 'h', node: n0 }, BIG, t());
    const { driverInfo } = await driver.finishMigration({ ...spec, flavor: BIG }, testImage(DISK), { powerOn: true }, t());
    assert.notEqual((await vmOf(spec.uuid))?.extraConfig['polyvisor.move'] ?? '', '');
    figures['confirm'] = await trips(() => driver.confirmMigration({ uuid: spec.uuid, node: n0, driverInfo: {} }, t()));
    const vm = await vmOf(spec.uuid);
    assert.equal(vm?.extraConfig['polyvisor.move'] ?? '', '');
    assert.equal(vm?.numCPU, 2);
    assert.equal(vm?.powerState, 'poweredOn');
    await driver.destroy({ uuid: spec.uuid, node: n0, driverInfo }, t());
    assert.equal(await pyvmomiVm(sim, spec.uuid), null);
  });

  it('a smaller root disk is refused before anything changes', async () => {
    const { spec, ref } = await boot(n0, { ...FLAVOR, root_gb: 2 });
    await assert.rejects(
      driver.migrateDiskAndPowerOff(ref, { host: 'h', node: n0 }, TINY_DISK, t()),
      (err: unknown) => err instanceof DriverError && err.code === 'resize_disk_shrink' && /Unable to shrink disk: the root disk is 2 GB and flavor m1.nodisk has 1 GB/.test(err.message),
    );
    const vm = await vmOf(spec.uuid);
    assert.equal(vm?.powerState, 'poweredOn');
    assert.equal(vm?.numCPU, 1);
    assert.equal(diskSizes(vm).root, 2 * GiB_KB);
    assert.equal(vm?.extraConfig['polyvisor.move'] ?? '', '');
  });

  it('a smaller ephemeral disk is refused too; ephemeral grows, swap is replaced when its size changes', async () => {
    const { spec, ref } = await boot(n0, { ...FLAVOR, ephemeral_gb: 2, swap: 256 });
    assert.deepEqual(diskSizes(await vmOf(spec.uuid)), { root: GiB_KB, others: [256 * 1024, 2 * GiB_KB] });
    await assert.rejects(driver.migrateDiskAndPowerOff(ref, { host: 'h', node: n0 }, { ...BIG, ephemeral_gb: 1 }, t()), /Unable to shrink disk: the ephemeral disk is 2 GB/);
    assert.equal((await vmOf(spec.uuid))?.powerState, 'poweredOn');
    await driver.migrateDiskAndPowerOff(ref, { host: 'h', node: n0 }, { ...BIG, ephemeral_gb: 3, swap: 512 }, t());
    assert.deepEqual(diskSizes(await vmOf(spec.uuid)), { root: 2 * GiB_KB, others: [512 * 1024, 3 * GiB_KB] });
  });

  it('an ephemeral disk added beside an existing swap disk goes before it, so the next resize still tells them apart', async () => {
    const { spec, ref } = await boot(n0, { ...FLAVOR, swap: 256 });
    assert.deepEqual(diskSizes(await vmOf(spec.uuid)), { root: GiB_KB, others: [256 * 1024] });
    await driver.migrateDiskAndPowerOff(ref, { host: 'h', node: n0 }, { ...FLAVOR, ephemeral_gb: 1, swap: 256 }, t());
    assert.deepEqual(diskSizes(await vmOf(spec.uuid)), { root: GiB_KB, others: [256 * 1024, GiB_KB] });
    await driver.confirmMigration({ uuid: spec.uuid, node: n0, driverInfo: {} }, t());
    await driver.migrateDiskAndPowerOff(ref, { host: 'h', node: n0 }, { ...FLAVOR, ephemeral_gb: 2, swap: 256 }, t());
    assert.deepEqual(diskSizes(await vmOf(spec.uuid)), { root: GiB_KB, others: [256 * 1024, 2 * GiB_KB] }, 'the ephemeral disk grew; swap untouched');
  });

  it('cold migration to the other cluster: relocated while off, powered on there; revert relocates back', async () => {
    const { spec, ref } = await boot(n0);
    const start = await placement(sim, spec.uuid);
    assert.equal(start.pool, 'DC0_C0');
    assert.equal(start.hostCluster, 'DC0_C0');
    await driver.migrateDiskAndPowerOff(ref, { host: 'h', node: n1 }, FLAVOR, t());
    let finished: Readonly<Record<string, unknown>> = {};
    figures['finish (destination, other cluster: relocate + power on)'] = await trips(async () => {
      finished = (await driver.finishMigration({ ...spec, node: n1 }, testImage(DISK), { powerOn: true }, t())).driverInfo;
    });
    let p = await placement(sim, spec.uuid);
    assert.deepEqual([p.pool, p.hostCluster, p.powerState], ['DC0_C1', 'DC0_C1', 'poweredOn']);
    // The console follows the VM: its host is now one of DC0_C1's.
    const console = await driver.getVncConsole({ uuid: spec.uuid, node: n1, driverInfo: finished }, t());
    assert.match(console.host, /^DC0_C1_H\d$/);

    await driver.destroy({ uuid: spec.uuid, node: n1, driverInfo: finished }, t());
    await driver.finishRevertMigration({ uuid: spec.uuid, node: n0, driverInfo: {} }, { powerOn: true }, t());
    p = await placement(sim, spec.uuid);
    assert.deepEqual([p.pool, p.host, p.powerState], ['DC0_C0', start.host, 'poweredOn']);

    // Again, confirmed this time: it stays in DC0_C1.
    await driver.migrateDiskAndPowerOff(ref, { host: 'h', node: n1 }, FLAVOR, t());
    await driver.finishMigration({ ...spec, node: n1 }, testImage(DISK), { powerOn: false }, t());
    await driver.confirmMigration({ uuid: spec.uuid, node: n0, driverInfo: {} }, t());
    p = await placement(sim, spec.uuid);
    assert.deepEqual([p.pool, p.hostCluster, p.powerState], ['DC0_C1', 'DC0_C1', 'poweredOff']);
  });

  it('a server deleted in VERIFY_RESIZE: the destination releases the VM, the source confirm removes it', async () => {
    const { spec, ref } = await boot(n0);
    await driver.migrateDiskAndPowerOff(ref, { host: 'h', node: n1 }, FLAVOR, t());
    const { driverInfo } = await driver.finishMigration({ ...spec, node: n1 }, testImage(DISK), { powerOn: true }, t());
    await driver.destroy({ uuid: spec.uuid, node: n1, driverInfo }, t());
    assert.equal((await pyvmomiVm(sim, spec.uuid))?.powerState, 'poweredOff', 'released: stopped, not yet removed');
    await driver.confirmMigration({ uuid: spec.uuid, node: n0, driverInfo: {} }, t());
    assert.equal(await pyvmomiVm(sim, spec.uuid), null);
    // Confirm again (a retry): the VM is gone, which is success.
    await driver.confirmMigration({ uuid: spec.uuid, node: n0, driverInfo: {} }, t());
  });

  it('live migration (vMotion) of a running VM to the other cluster; the destination takes it over', async () => {
    const { spec, ref } = await boot(n0);
    figures['live migration (source: vMotion)'] = await trips(() => driver.liveMigrate(ref, { host: 'h', node: n1 }, t()));
    const p = await placement(sim, spec.uuid);
    assert.deepEqual([p.pool, p.hostCluster, p.powerState], ['DC0_C1', 'DC0_C1', 'poweredOn']);
    let info: Readonly<Record<string, unknown>> = {};
    figures['live migration (destination: check)'] = await trips(async () => {
      info = (await driver.postLiveMigrationAtDestination({ ...spec, node: n1 }, PowerState.RUNNING, t())).driverInfo;
    });
    assert.equal(info['vm'], ref.driverInfo['vm']);
    const console = await driver.getVncConsole({ uuid: spec.uuid, node: n1, driverInfo: info }, t());
    assert.equal(console.host, p.host);
    assert.equal(console.port, ref.driverInfo['vncPort']);
  });

  it('two compute services on one vCenter (one cluster each): cold migration, revert and vMotion hand the VM between their drivers', async () => {
    const a = new VmwareDriver(simOptions(sim, { clusterNames: ['DC0_C0'], vncPort: 6200, vncPortTotal: 50 }));
    const b = new VmwareDriver(simOptions(sim, { clusterNames: ['DC0_C1'], vncPort: 6300, vncPortTotal: 50 }));
    await a.init(t());
    await b.init(t());
    try {
      const spec = instanceSpec(n0);
      const { driverInfo } = await a.spawn(spec, testImage(DISK), t());
      const ref = { uuid: spec.uuid, node: n0, driverInfo };
      await a.migrateDiskAndPowerOff(ref, { host: 'b', node: n1 }, BIG, t());
      const moved = (await b.finishMigration({ ...spec, node: n1, flavor: BIG, driverInfo }, testImage(DISK), { powerOn: true }, t())).driverInfo;
      let p = await placement(sim, spec.uuid);
      assert.deepEqual([p.pool, p.hostCluster, p.powerState, p.numCPU, p.memoryMB], ['DC0_C1', 'DC0_C1', 'poweredOn', 2, 1024]);
      await b.destroy({ uuid: spec.uuid, node: n1, driverInfo: moved }, t());
      await a.finishRevertMigration({ uuid: spec.uuid, node: n0, driverInfo: {} }, { powerOn: true }, t());
      p = await placement(sim, spec.uuid);
      assert.deepEqual([p.pool, p.hostCluster, p.powerState, p.numCPU, p.memoryMB], ['DC0_C0', 'DC0_C0', 'poweredOn', 1, 512]);

      a.client.counter.reset();
      await a.liveMigrate(ref, { host: 'b', node: n1 }, t());
      figures['live migration (source, destination of another service: + 1 inventory read)'] = a.client.counter.total;
      const info = (await b.postLiveMigrationAtDestination({ ...spec, node: n1 }, PowerState.RUNNING, t())).driverInfo;
      p = await placement(sim, spec.uuid);
      assert.deepEqual([p.pool, p.hostCluster, p.powerState], ['DC0_C1', 'DC0_C1', 'poweredOn']);
      assert.equal((await b.getVncConsole({ uuid: spec.uuid, node: n1, driverInfo: info }, t())).host, p.host);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('live migration refuses a stopped VM, and any move to another vCenter, before anything moves', async () => {
    const { spec, ref } = await boot(n0);
    await driver.powerOff(ref, { timeoutSeconds: 0 }, t());
    await assert.rejects(driver.liveMigrate(ref, { host: 'h', node: n1 }, t()), /is poweredOff: vMotion moves running VMs/);
    await assert.rejects(driver.migrateDiskAndPowerOff(ref, { host: 'h', node: 'domain-c7.other-vcenter' }, FLAVOR, t()), /not a cluster of this vCenter/);
    assert.equal((await placement(sim, spec.uuid)).pool, 'DC0_C0');
  });

  it('postLiveMigrationAtDestination fails when the VM did not arrive', async () => {
    const { spec } = await boot(n0);
    await assert.rejects(driver.postLiveMigrationAtDestination({ ...spec, node: n1 }, PowerState.RUNNING, t()), /is not in cluster DC0_C1 after the live migration/);
  });
});
