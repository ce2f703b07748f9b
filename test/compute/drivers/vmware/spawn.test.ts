import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DriverError } from '../../../../src/compute/drivers/driver.js';
import { VmwareDriver } from '../../../../src/compute/drivers/vmware/index.js';
import { startTestVcsim, type TestVcsim } from '../../../vsphere/vcsim-harness.js';
import { pyvmomiView } from './pyvmomi.js';
import { datastorePath, instanceSpec, simOptions, testImage } from './support.js';

const DISK = Buffer.alloc(3 * 1024 * 1024, 7);

describe('VMware driver spawn', () => {
  let sim: TestVcsim;
  let driver: VmwareDriver;
  let node: string;
  let node2: string;
  const dsDir = (): string => datastorePath(sim);
  before(async () => {
    sim = await startTestVcsim({ clusters: 2, hostsPerCluster: 2 });
    driver = new VmwareDriver(simOptions(sim));
    await driver.init(AbortSignal.timeout(30_000));
    const nodes = await driver.listNodes(AbortSignal.timeout(10_000));
    node = nodes[0]?.nodename ?? '';
    node2 = nodes[1]?.nodename ?? '';
  });
  after(async () => {
    await driver.close();
    await sim.stop();
  });

  it('boots a linked clone of the cached image; pyVmomi sees name, guest, controller, NIC, VNC and the delta disk', async () => {
    const image = testImage(DISK, { properties: { vmware_ostype: 'ubuntu64Guest', vmware_adaptertype: 'paraVirtual' } });
    const inst = instanceSpec(node, { name: 'web-1' });
    const progress: number[] = [];
    const { driverInfo } = await driver.spawn(inst, image, AbortSignal.timeout(30_000), { onProgress: (p) => progress.push(p) });
    assert.equal(image.opens(), 1);
    assert.ok(progress.length > 0 && progress.every((p, i) => i === 0 || p >= (progress[i - 1] ?? 0)));
    assert.equal(driverInfo['linkedClone'], true);

    const view = await pyvmomiView(sim);
    const vm = view.vms.find((v) => v.name === inst.uuid);
    assert.ok(vm, 'pyVmomi sees a VM named by the instance UUID');
    assert.equal(vm.instanceUuid, inst.uuid);
    assert.equal(vm.guestId, 'ubuntu64Guest');
    assert.equal(vm.powerState, 'poweredOn');
    assert.equal(vm.numCPU, 1);
    assert.equal(vm.memoryMB, 512);
    assert.equal(vm.folder, 'vm/OpenStack/Project (p-1234)');
    assert.match(vm.annotation ?? '', /name:web-1/);
    assert.match(vm.annotation ?? '', /projectid:p-1234/);
    assert.equal(vm.extraConfig['nvp.vm-uuid'], inst.uuid);
    const port = Number(vm.extraConfig['RemoteDisplay.vnc.port']);
    assert.ok(port >= 5900 && port <= 6105, `VNC port ${port}`);
    assert.equal(vm.extraConfig['RemoteDisplay.vnc.enabled'], 'true');
    assert.ok(vm.controllers.some((c) => c.type.endsWith('.ParaVirtualSCSIController')));
    assert.equal(vm.nics.length, 1);
    assert.equal(view.portgroups[vm.nics[0]?.portgroupKey ?? ''], 'DC0_DVPG0');
    assert.equal(vm.disks.length, 1);
    assert.equal(vm.disks[0]?.parent, `[LocalDS_0] vmware_base/${image.id}/${image.id}.vmdk`);
    // The root disk is the flavor's 1 GiB (larger than the 3 MiB image).
    assert.equal(vm.disks[0]?.capacityKB, 1024 * 1024);
    // The cache holds the flat extent and its descriptor.
    const cacheDir = join(dsDir(), 'vmware_base', image.id);
    assert.deepEqual(readdirSync(cacheDir).sort(), [`${image.id}-flat.vmdk`, `${image.id}.vmdk`]);

    const vnc = await driver.getVncConsole({ uuid: inst.uuid, node, driverInfo }, AbortSignal.timeout(5000));
    assert.equal(vnc.port, port);
    assert.match(vnc.host, /^DC0_C0_H\d$/);
  });

  it('a second boot of the image moves no bytes and makes at most 8 round trips', async () => {
    const image = testImage(DISK);
    await driver.spawn(instanceSpec(node), image, AbortSignal.timeout(30_000));
    const client = driver.client;
    client.counter.reset();
    const inst = instanceSpec(node);
    await driver.spawn(inst, image, AbortSignal.timeout(30_000));
    assert.equal(image.opens(), 1, 'image bytes were read once');
    assert.ok(client.counter.total <= 8, `round trips: ${client.counter.total} ${JSON.stringify(client.counter.byMethod())}`);
  });

  it('full copy with img_linked_clone=false: the root disk is a copy in the VM folder, no parent', async () => {
    const image = testImage(DISK, { properties: { img_linked_clone: 'false' } });
    const inst = instanceSpec(node2);
    const { driverInfo } = await driver.spawn(inst, image, AbortSignal.timeout(30_000));
    assert.equal(driverInfo['linkedClone'], false);
    const vm = (await pyvmomiView(sim)).vms.find((v) => v.name === inst.uuid);
    assert.ok(vm);
    assert.equal(vm.disks.length, 1);
    assert.equal(vm.disks[0]?.parent, null);
    assert.equal(vm.disks[0]?.fileName, `[LocalDS_0] ${inst.uuid}/${inst.uuid}-root.vmdk`);
    assert.ok(existsSync(join(dsDir(), inst.uuid, `${inst.uuid}-root-flat.vmdk`)));
  });

  it('a bad vmware_ostype is a clear fault and nothing is created', async () => {
    const image = testImage(DISK, { properties: { vmware_ostype: 'amigaOS' } });
    const inst = instanceSpec(node);
    await assert.rejects(driver.spawn(inst, image, AbortSignal.timeout(30_000)), (err: unknown) => {
      assert.ok(err instanceof DriverError);
      assert.match(err.message, /vmware_ostype = amigaOS is not a vSphere guest ID/);
      return true;
    });
    assert.equal(image.opens(), 0);
    assert.ok(!(await pyvmomiView(sim)).vms.some((v) => v.name === inst.uuid));
  });

  it('a failed power-on leaves no VM and no file, and says what failed with vCenter\'s message and the opID', async () => {
    const image = testImage(DISK);
    const inst = instanceSpec(node);
    await sim.injectFault('PowerOnVM_Task', 'InsufficientResourcesFault', { message: 'not enough memory on the cluster' });
    await assert.rejects(driver.spawn(inst, image, AbortSignal.timeout(30_000)), (err: unknown) => {
      assert.ok(err instanceof DriverError);
      assert.match(err.message, /^spawn failed while powering on: .*not enough memory on the cluster.*\(opID polyvisor-[0-9a-f-]+-poweron-\w+\)$/);
      return true;
    });
    await sim.clearFaults();
    assert.ok(!(await pyvmomiView(sim)).vms.some((v) => v.name === inst.uuid), 'no VM left');
    assert.ok(!existsSync(join(dsDir(), inst.uuid)), 'no files left');
  });

  it('20 concurrent boots of a new image move its bytes once', async () => {
    const image = testImage(DISK);
    const insts = Array.from({ length: 20 }, (_, i) => instanceSpec(i % 2 === 0 ? node : node2));
    await Promise.all(insts.map((inst) => driver.spawn(inst, image, AbortSignal.timeout(60_000))));
    assert.equal(image.opens(), 1);
    const names = new Set((await pyvmomiView(sim)).vms.map((v) => v.name));
    for (const inst of insts) assert.ok(names.has(inst.uuid));
  });
});
