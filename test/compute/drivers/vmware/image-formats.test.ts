import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DriverError } from '../../../../src/compute/drivers/driver.js';
import { VmwareDriver } from '../../../../src/compute/drivers/vmware/index.js';
import { startTestVcsim, type TestVcsim } from '../../../vsphere/vcsim-harness.js';
import { pyvmomiView } from './pyvmomi.js';
import { datastorePath, instanceSpec, simOptions, testImage } from './support.js';

const t = (): AbortSignal => AbortSignal.timeout(30_000);

describe('VMware driver image formats', () => {
  let sim: TestVcsim;
  let driver: VmwareDriver;
  let node: string;
  before(async () => {
    sim = await startTestVcsim({ clusters: 1, hostsPerCluster: 1 });
    driver = new VmwareDriver(simOptions(sim, { clusterNames: ['DC0_C0'] }));
    await driver.init(t());
    node = (await driver.listNodes(t()))[0]?.nodename ?? '';
  });
  after(async () => {
    await driver.close();
    await sim.stop();
  });

  it('a raw image is cached as a flat disk with a descriptor of its size, bytes intact', async () => {
    const data = Buffer.alloc(2 * 1024 * 1024);
    data.write('raw-image-marker', 1024 * 1024);
    const image = testImage(data, { diskFormat: 'raw', properties: { vmware_adaptertype: 'ide' } });
    const inst = instanceSpec(node);
    await driver.spawn(inst, image, t());
    const dir = join(datastorePath(sim), 'vmware_base', image.id);
    assert.deepEqual(readFileSync(join(dir, `${image.id}-flat.vmdk`)), data);
    assert.match(readFileSync(join(dir, `${image.id}.vmdk`), 'utf8'), new RegExp(`RW 4096 VMFS "${image.id}-flat.vmdk"[\\s\\S]*ddb.adapterType = "ide"`));
    const vm = (await pyvmomiView(sim)).vms.find((v) => v.name === inst.uuid);
    // ide: the disk sits on the VM's built-in IDE controller, no SCSI controller is added.
    assert.equal(vm?.disks[0]?.controllerKey, 200);
    assert.ok(!vm?.controllers.some((c) => /SCSI|LsiLogic|BusLogic/.test(c.type)));
  });

  it('an ISO boots from a CD-ROM with a blank root disk of the flavor\'s size (no linked clone)', async () => {
    const image = testImage(Buffer.alloc(256 * 1024, 3), { diskFormat: 'iso' });
    const inst = instanceSpec(node);
    const { driverInfo } = await driver.spawn(inst, image, t());
    assert.equal(driverInfo['linkedClone'], false);
    assert.ok(existsSync(join(datastorePath(sim), 'vmware_base', image.id, `${image.id}.iso`)));
    const vm = (await pyvmomiView(sim)).vms.find((v) => v.name === inst.uuid);
    assert.equal(vm?.disks.length, 1);
    assert.equal(vm?.disks[0]?.parent, null);
    assert.equal(vm?.disks[0]?.capacityKB, 1024 * 1024);
  });

  it('an unknown vmware_disktype or disk_format is a clear fault before anything moves', async () => {
    const bad = testImage(Buffer.alloc(1024), { properties: { vmware_disktype: 'floppy' } });
    await assert.rejects(driver.spawn(instanceSpec(node), bad, t()), (e: unknown) => e instanceof DriverError && /vmware_disktype = floppy/.test(e.message));
    const qcow = testImage(Buffer.alloc(1024), { diskFormat: 'qcow2' });
    await assert.rejects(driver.spawn(instanceSpec(node), qcow, t()), (e: unknown) => e instanceof DriverError && /disk_format qcow2/.test(e.message));
    assert.equal(bad.opens() + qcow.opens(), 0);
  });

  it('a transfer that fails (image service stream breaks) leaves no file in the cache and no VM', async () => {
    const image = testImage(Buffer.alloc(1024 * 1024, 4));
    const broken = { ...image, open: () => Promise.reject(new Error('image store unavailable')) };
    const inst = instanceSpec(node);
    await assert.rejects(driver.spawn(inst, broken, t()), (e: unknown) => e instanceof DriverError && /^spawn failed while caching the image: image store unavailable/.test(e.message));
    assert.ok(!existsSync(join(datastorePath(sim), 'vmware_base', image.id)));
    assert.ok(!(await pyvmomiView(sim)).vms.some((v) => v.name === inst.uuid));
  });

  it('sparse (a qemu-img monolithicSparse file, the seeds\' trusty-cloud command): vcsim cannot convert it, so the raw variant is cached; bytes intact', async () => {
    // vcsim's VirtualDiskManager copies only "<name>-flat.vmdk" + descriptor pairs, so the
    // CopyVirtualDisk conversion a vCenter performs fails here; the driver then streams the
    // image service's raw variant as the flat extent.
    const dir = mkdtempSync(join(tmpdir(), 'vmw-sparse-'));
    try {
      const raw = Buffer.alloc(4 * 1024 * 1024);
      raw.write('sparse-image-marker', 3 * 1024 * 1024);
      writeFileSync(join(dir, 'disk.raw'), raw);
      execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'vmdk', join(dir, 'disk.raw'), join(dir, 'disk.vmdk')]);
      const sparse = readFileSync(join(dir, 'disk.vmdk'));
      const formats: (string | null)[] = [];
      const image = {
        ...testImage(sparse, { properties: { vmware_disktype: 'sparse', vmware_adaptertype: 'ide', vmware_ostype: 'ubuntu64Guest' } }),
        open: (format: string | null) => {
          formats.push(format);
          return Promise.resolve(Readable.from([format === 'raw' ? raw : sparse]));
        },
      };
      const inst = instanceSpec(node);
      await driver.spawn(inst, image, t());
      assert.deepEqual(formats, [null, 'raw']);
      const cached = join(datastorePath(sim), 'vmware_base', image.id);
      assert.deepEqual(readdirSync(cached).sort(), [`${image.id}-flat.vmdk`, `${image.id}.vmdk`], 'no temporary upload left');
      assert.deepEqual(readFileSync(join(cached, `${image.id}-flat.vmdk`)), raw);
      const vm = (await pyvmomiView(sim)).vms.find((v) => v.name === inst.uuid);
      assert.equal(vm?.disks[0]?.parent, `[LocalDS_0] vmware_base/${image.id}/${image.id}.vmdk`);
      assert.equal(vm?.disks[0]?.controllerKey, 200);
      // The next boot uses the cache.
      await driver.spawn(instanceSpec(node), image, t());
      assert.equal(formats.length, 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ephemeral and swap disks from the flavor are added after the root disk', async () => {
    const inst = instanceSpec(node, { flavor: { id: '9', name: 'm1.eph', vcpus: 2, memory_mb: 1024, root_gb: 1, ephemeral_gb: 2, swap: 512, extra_specs: {} } });
    await driver.spawn(inst, testImage(Buffer.alloc(64 * 1024, 8)), t());
    const vm = (await pyvmomiView(sim)).vms.find((v) => v.name === inst.uuid);
    assert.deepEqual(vm?.disks.map((d) => d.capacityKB), [1024 * 1024, 2 * 1024 * 1024, 512 * 1024]);
    assert.ok(vm?.disks[0]?.parent !== null && vm?.disks[1]?.parent === null && vm?.disks[2]?.parent === null);
    assert.equal(vm?.numCPU, 2);
  });
});
