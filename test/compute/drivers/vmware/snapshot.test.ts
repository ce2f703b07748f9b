import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Readable } from 'node:stream';
import { configFromText } from '../../../../src/config/load.js';
import { DriverError, type InstanceRef, type SnapshotData } from '../../../../src/compute/drivers/driver.js';
import { VmwareDriver, vmwareOptionsFromConfig } from '../../../../src/compute/drivers/vmware/index.js';
import { rootDisk, snapshotName } from '../../../../src/compute/drivers/vmware/snapshot.js';
import { moref } from '../../../../src/vsphere/index.js';
import { startTestVcsim, type TestVcsim } from '../../../vsphere/vcsim-harness.js';
import { pyvmomiView } from './pyvmomi.js';
import { datastorePath, instanceSpec, simOptions, testImage } from './support.js';

const t = (): AbortSignal => AbortSignal.timeout(30_000);
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** 3 MiB that differ at every offset, so a copy of the wrong file or a cut stream shows. */
function patternDisk(bytes: number): Buffer {
  const b = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i += 4) b.writeUInt32LE(i ^ 0x5a5a5a5a, i);
  return b;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Every file below `dir` (relative paths); [] when it does not exist. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' });
}

describe('VMware driver snapshot (createImage / createBackup / shelve) against vcsim', () => {
  let sim: TestVcsim;
  let full: VmwareDriver;
  let linked: VmwareDriver;
  let node: string;
  const DISK = patternDisk(3 * 1024 * 1024);

  before(async () => {
    sim = await startTestVcsim({ clusters: 1, hostsPerCluster: 1 });
    full = new VmwareDriver(simOptions(sim, { clusterNames: ['DC0_C0'], useLinkedClone: false, tempFolder: 'pv-vmware_temp' }));
    linked = new VmwareDriver(simOptions(sim, { clusterNames: ['DC0_C0'], useLinkedClone: true, tempFolder: 'pv-vmware_temp' }));
    await full.init(t());
    await linked.init(t());
    node = (await full.listNodes(t()))[0]?.nodename ?? '';
  });
  after(async () => {
    await full.close();
    await linked.close();
    await sim.stop();
  });

  const boot = async (driver: VmwareDriver, image = testImage(DISK)): Promise<InstanceRef> => {
    const inst = instanceSpec(node);
    const { driverInfo } = await driver.spawn(inst, image, t());
    return { uuid: inst.uuid, node, driverInfo };
  };
  const vmOf = (driver: VmwareDriver, ref: InstanceRef) => driver.client.vm(moref('VirtualMachine', String(ref.driverInfo['vm'])));
  /** The VM's snapshot tree and snapshot file layout, as vCenter reports them. */
  const snapshotState = async (driver: VmwareDriver, ref: InstanceRef) => {
    const p = await vmOf(driver, ref).properties(['snapshot', 'layoutEx.snapshot']);
    return { tree: p.snapshot, layout: Array.isArray(p['layoutEx.snapshot']) ? p['layoutEx.snapshot'] : [] };
  };
  const vmsnFiles = (ref: InstanceRef): string[] => filesUnder(join(datastorePath(sim), ref.uuid)).filter((f) => f.endsWith('.vmsn'));
  const tempDir = (): string => join(datastorePath(sim), 'pv-vmware_temp');
  const powerState = async (ref: InstanceRef): Promise<string | undefined> => (await pyvmomiView(sim)).vms.find((v) => v.name === ref.uuid)?.powerState;

  it('[vmware] cache_prefix names the temporary folder as it names the cache', () => {
    const conf = (extra: string) => vmwareOptionsFromConfig(configFromText(`[vmware]\nhost_ip = vc\nhost_username = u\nhost_password = p\ncluster_name = C\n${extra}`).config);
    assert.equal(conf('').tempFolder, 'vmware_temp');
    assert.equal(conf('cache_prefix = shared-').tempFolder, 'shared-vmware_temp');
  });

  it('full copy: a running VM\'s root disk streams out byte for byte; the VM keeps running; snapshot and temporary folder are gone', async () => {
    const ref = await boot(full);
    assert.equal(await powerState(ref), 'poweredOn');
    full.client.counter.reset();
    const snap: SnapshotData = await full.snapshot(ref, t());
    try {
      // While the stream is open the copy sits in the temporary folder, and the vSphere snapshot (its .vmsn file) is already gone.
      assert.equal(filesUnder(tempDir()).filter((f) => f.endsWith('-flat.vmdk')).length, 1, 'the disk copy is staged in the temporary folder');
      assert.deepEqual(vmsnFiles(ref), []);
      const bytes = await readAll(snap.data);
      assert.equal(bytes.length, DISK.length);
      assert.equal(sha256(bytes), sha256(DISK), 'the snapshot carries exactly the bytes the VM booted from');
    } finally {
      await snap.release();
    }
    const calls = full.client.counter.total;
    const byMethod = full.client.counter.byMethod();
    console.log(`# SOAP round trips for one snapshot (full copy): ${calls} ${JSON.stringify(byMethod)}`);
    assert.deepEqual(
      ['RetrievePropertiesEx', 'CreateSnapshot_Task', 'MakeDirectory', 'CopyVirtualDisk_Task', 'RemoveSnapshot_Task', 'DeleteDatastoreFile_Task'].map((m) => byMethod[m]),
      [1, 1, 1, 1, 1, 1],
      'one property read, one call per step',
    );
    assert.equal(calls, 14, 'the figure the driver README states: 2 calls + 4 tasks × (start, ModifyListView, WaitForUpdatesEx)');
    assert.equal(snap.diskFormat, 'vmdk');
    assert.equal(snap.containerFormat, 'bare');
    assert.deepEqual(snap.properties, { vmware_disktype: 'preallocated', vmware_adaptertype: 'lsiLogic', vmware_ostype: 'otherGuest64' });
    assert.equal(await powerState(ref), 'poweredOn', 'the VM ran on through the snapshot');
    assert.deepEqual(await snapshotState(full, ref), { tree: undefined, layout: [] }, 'no vSphere snapshot is left on the VM');
    assert.deepEqual(vmsnFiles(ref), [], 'no snapshot file is left in the VM folder');
    assert.deepEqual(filesUnder(tempDir()), [], 'the temporary folder is removed');
    // The VM's own disk is untouched.
    assert.equal(sha256(readFileSync(join(datastorePath(sim), ref.uuid, `${ref.uuid}-root-flat.vmdk`))), sha256(DISK));
  });

  it('the image\'s adapter and guest come from the VM (busLogic, ubuntu64Guest), not defaults', async () => {
    const ref = await boot(full, testImage(DISK, { properties: { vmware_adaptertype: 'busLogic', vmware_ostype: 'ubuntu64Guest' } }));
    const snap = await full.snapshot(ref, t());
    try {
      await readAll(snap.data);
    } finally {
      await snap.release();
    }
    assert.equal(snap.properties?.['vmware_adaptertype'], 'busLogic');
    assert.equal(snap.properties?.['vmware_ostype'], 'ubuntu64Guest');
  });

  it('linked clone: the VM\'s delta disk (not the shared cached base) is what gets copied; snapshot and folder gone, base intact', async () => {
    const image = testImage(DISK);
    const ref = await boot(linked, image);
    const vmDisks = (await pyvmomiView(sim)).vms.find((v) => v.name === ref.uuid)?.disks ?? [];
    assert.ok(vmDisks[0]?.parent?.includes(`vmware_base/${image.id}/`), 'the VM is a linked clone of the cached image');
    const snap = await linked.snapshot(ref, t());
    let bytes: Buffer;
    try {
      bytes = await readAll(snap.data);
    } finally {
      await snap.release();
    }
    // vcsim keeps a delta disk as an empty file pair and its CopyVirtualDisk copies files,
    // not chains: the copy is empty here, where a real vCenter writes the consolidated disk.
    assert.equal(bytes.length, 0);
    assert.equal(snap.properties?.['vmware_disktype'], 'preallocated');
    assert.equal(await powerState(ref), 'poweredOn');
    assert.deepEqual(await snapshotState(linked, ref), { tree: undefined, layout: [] });
    assert.deepEqual(filesUnder(tempDir()), []);
    const base = join(datastorePath(sim), 'vmware_base', image.id, `${image.id}-flat.vmdk`);
    assert.equal(sha256(readFileSync(base)), sha256(DISK), 'the cached base is untouched');
  });

  it('a failed disk copy names the step; no vSphere snapshot, no temporary folder left; the VM runs on', async () => {
    const ref = await boot(full);
    await sim.injectFault('CopyVirtualDisk_Task', 'CannotCreateFile', { message: 'datastore LocalDS_0 is full' });
    await assert.rejects(full.snapshot(ref, t()), (err: unknown) => {
      assert.ok(err instanceof DriverError);
      assert.match(err.message, /^snapshot failed while copying the frozen root disk \[LocalDS_0\] \S+-root\.vmdk: vSphere fault CannotCreateFile: datastore LocalDS_0 is full .*\(opID polyvisor-\S+-snapcopy-/);
      return true;
    });
    assert.deepEqual(await snapshotState(full, ref), { tree: undefined, layout: [] });
    assert.deepEqual(vmsnFiles(ref), []);
    assert.deepEqual(filesUnder(tempDir()), []);
    assert.equal(await powerState(ref), 'poweredOn');
  });

  it('a failed RemoveSnapshot is retried by the cleanup: nothing is left, and the error says which step failed', async () => {
    const ref = await boot(full);
    await sim.injectFault('RemoveSnapshot_Task', 'TaskInProgress', { message: 'the VM is busy' });
    await assert.rejects(full.snapshot(ref, t()), /snapshot failed while removing the vSphere snapshot: vSphere fault TaskInProgress: the VM is busy/);
    assert.deepEqual(await snapshotState(full, ref), { tree: undefined, layout: [] });
    assert.deepEqual(filesUnder(tempDir()), []);
  });

  it('a snapshot an interrupted run left on the VM is removed before a new one is taken', async () => {
    const ref = await boot(full);
    await vmOf(full, ref).createSnapshot(snapshotName(ref.uuid), { signal: t() });
    assert.equal(vmsnFiles(ref).length, 1);
    const snap = await full.snapshot(ref, t());
    try {
      assert.equal(sha256(await readAll(snap.data)), sha256(DISK));
    } finally {
      await snap.release();
    }
    assert.deepEqual(await snapshotState(full, ref), { tree: undefined, layout: [] });
    assert.deepEqual(vmsnFiles(ref), []);
  });

  it('a VM deleted before the snapshot: the error names the instance; nothing is staged', async () => {
    const ref = await boot(full);
    await full.destroy(ref, t());
    await assert.rejects(full.snapshot(ref, t()), (err: unknown) => {
      assert.ok(err instanceof DriverError);
      assert.match(err.message, new RegExp(`^instance ${ref.uuid} does not exist on the hypervisor$`));
      return true;
    });
    assert.deepEqual(filesUnder(tempDir()), []);
  });

  it('a VM deleted while its disk is being copied: the copy step fails by name; no temporary folder is left', async () => {
    const ref = await boot(full);
    await sim.setMethodDelay('CopyVirtualDisk_Task', 2000);
    try {
      const running = full.snapshot(ref, t());
      const outcome = running.then(() => undefined, (err: unknown) => err);
      await sim.waitInflight('CopyVirtualDisk_Task', 1);
      await linked.destroy(ref, t()); // someone else (another connection) deletes the VM meanwhile
      const err = await outcome;
      assert.ok(err instanceof DriverError, `the snapshot failed: ${String(err)}`);
      assert.match(err.message, /^snapshot failed while copying the frozen root disk \[LocalDS_0\] \S+-root\.vmdk: /);
    } finally {
      await sim.setMethodDelay('CopyVirtualDisk_Task', 0);
    }
    assert.deepEqual(filesUnder(tempDir()), []);
    assert.equal(existsSync(join(datastorePath(sim), ref.uuid)), false);
  });

  it('root disk choice: lowest controller bus, then unit (ephemeral disks come after the root)', () => {
    const disk = (key: number, controllerKey: number, unitNumber: number, fileName: string) => ({ _type: 'VirtualDisk', key, controllerKey, unitNumber, capacityInKB: 1024, backing: { _type: 'VirtualDiskFlatVer2BackingInfo', fileName } });
    const devices = [
      { _type: 'VirtualIDEController', key: 200, busNumber: 0 },
      { _type: 'ParaVirtualSCSIController', key: 1000, busNumber: 0 },
      disk(2001, 1000, 1, '[ds] vm/vm_1.vmdk'),
      { _type: 'ParaVirtualSCSIController', key: 1001, busNumber: 1 },
      disk(2002, 1001, 0, '[ds] vm/other.vmdk'),
      disk(2000, 1000, 0, '[ds] vm/vm.vmdk'),
    ];
    assert.deepEqual(rootDisk(devices), { fileName: '[ds] vm/vm.vmdk', datastore: 'ds', adapterType: 'paraVirtual', capacityKb: 1024 });
    assert.equal(rootDisk([{ _type: 'VirtualIDEController', key: 200, busNumber: 0 }]), undefined);
  });
});
