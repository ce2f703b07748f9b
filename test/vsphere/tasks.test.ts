import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, methods, type ManagedObjectReference, type TaskInfo } from '../../src/vsphere/index.js';
import { smallVmSpec } from './vm-spec.js';
import { startTestVcsim, type TestVcsim } from './vcsim-harness.js';

describe('tasks and the operations the VMware driver needs', () => {
  let sim: TestVcsim;
  let client: Client;
  let dc: ManagedObjectReference;
  let pool: ManagedObjectReference;
  before(async () => {
    sim = await startTestVcsim({ updateIntervalMs: 5, standardPortGroups: 1 });
    client = await Client.connect({ url: sim.url, username: sim.username, password: sim.password, caFile: sim.caFile ?? '' });
    const inv = await client.inventory();
    const [d] = inv.byType('Datacenter');
    const [c] = inv.byType('ClusterComputeResource');
    assert.ok(d && c);
    dc = d.ref;
    pool = (await client.cluster(c.ref).resourcePool()).ref;
  });
  after(async () => {
    await client.close();
    await sim.stop();
  });

  it('observes a task completing within 50 ms of vcsim completing it, through WaitForUpdatesEx (no polling)', async () => {
    const { vmFolder } = await client.datacenter(dc).folders();
    const vm = await vmFolder.createVM(smallVmSpec('latency', 'LocalDS_0'), pool);
    await sim.setTaskDelay('PowerOnVM_Task', 300);
    try {
      const latencies: number[] = [];
      for (let i = 0; i < 3; i++) {
        client.counter.reset();
        const task = await methods.powerOnVMTask(client.rt, vm.ref, undefined);
        const info: TaskInfo = await client.tasks.waitForInfo(task);
        const observed = Date.now();
        assert.equal(info.state, 'success');
        assert.ok(info.completeTime instanceof Date && info.startTime instanceof Date);
        assert.ok(info.completeTime.getTime() - info.startTime.getTime() >= 250, 'the task really ran for the configured delay');
        latencies.push(observed - info.completeTime.getTime());
        assert.ok(client.counter.count('WaitForUpdatesEx') <= 3, `long-polled, not polled (${client.counter.count('WaitForUpdatesEx')} waits for a 300 ms task)`);
        assert.equal(client.counter.count('RetrievePropertiesEx'), 0);
        await vm.powerOff();
      }
      console.log(`task completion observed ${latencies.map((l) => `${l} ms`).join(', ')} after vcsim completed it`);
      for (const l of latencies) assert.ok(l < 50, `observed ${l} ms after completion`);
    } finally {
      await sim.setTaskDelay('PowerOnVM_Task', 0);
    }
  });

  it('awaits many tasks at once through one collector and reports progress to completion', async () => {
    const { vmFolder } = await client.datacenter(dc).folders();
    await sim.setTaskDelay('*', 50);
    try {
      client.counter.reset();
      const progress: number[] = [];
      const vms = await Promise.all(Array.from({ length: 8 }, (_, i) => vmFolder.createVM(smallVmSpec(`many-${i}`, 'LocalDS_0'), pool, { onProgress: (p) => progress.push(p) })));
      assert.equal(new Set(vms.map((v) => v.ref.value)).size, 8);
      assert.ok(progress.filter((p) => p === 100).length === 8);
      assert.ok(client.counter.count('ModifyListView') + client.counter.count('CreateListView') <= 8);
      assert.ok(client.counter.count('WaitForUpdatesEx') < 8 * 3, 'waits are shared');
      assert.equal(client.counter.count('CreatePropertyCollector'), 0, 'the collector from the first test is reused');
      await Promise.all(vms.map((v) => v.destroy()));
    } finally {
      await sim.setTaskDelay('*', 0);
    }
  });

  it('drives a VM through create, reconfigure, power, snapshot, clone, relocate and destroy', async () => {
    const { vmFolder } = await client.datacenter(dc).folders();
    const vm = await vmFolder.createVM(smallVmSpec('life', 'LocalDS_0'), pool);
    await vm.reconfigure({ numCPUs: 2, memoryMB: 256, extraConfig: [{ key: 'polyvisor.instance', value: 'abc' }] });
    const p = await vm.properties(['config.hardware.numCPU', 'config.hardware.memoryMB', 'config.extraConfig']);
    assert.equal(p['config.hardware.numCPU'], 2);
    assert.equal(p['config.hardware.memoryMB'], 256);
    assert.ok((p['config.extraConfig'] as { key: string; value: unknown }[]).some((o) => o.key === 'polyvisor.instance' && o.value === 'abc'));
    await vm.powerOn();
    assert.equal(await vm.powerState(), 'poweredOn');
    await vm.reset();
    await vm.suspend();
    assert.equal(await vm.powerState(), 'suspended');
    await vm.powerOn();
    await vm.shutdownGuest();
    const snap = await vm.createSnapshot('before', { description: 'test' });
    assert.equal(snap.type, 'VirtualMachineSnapshot');
    await vm.removeSnapshot(snap);
    if ((await vm.powerState()) !== 'poweredOff') await vm.powerOff();
    const clone = await vm.clone(vmFolder.ref, 'life-clone', { location: { pool }, template: false, powerOn: false });
    assert.equal(await clone.name(), 'life-clone');
    const [host] = await client.cluster((await client.inventory()).byType('ClusterComputeResource')[0]?.ref ?? pool).hosts();
    assert.ok(host);
    await clone.relocate({ host: host.ref, pool });
    await clone.destroy();
    await vm.destroy();
    const left = (await client.inventory({ vms: true })).byType('VirtualMachine').map((v) => v.props['name']);
    assert.ok(!left.includes('life') && !left.includes('life-clone'));
  });

  it('manages datastore files and virtual disks, and searches a datastore', async () => {
    const fm = client.fileManager();
    const vdm = client.virtualDiskManager();
    await fm.makeDirectory('[LocalDS_0] images/base', dc);
    await vdm.createVirtualDisk('[LocalDS_0] images/base/disk.vmdk', dc, { diskType: 'thin', adapterType: 'lsiLogic', capacityKb: 1024 });
    await vdm.copyVirtualDisk('[LocalDS_0] images/base/disk.vmdk', '[LocalDS_0] images/base/copy.vmdk', dc);
    await fm.copyFile('[LocalDS_0] images/base/copy.vmdk', '[LocalDS_0] images/base/copy2.vmdk', dc);
    await fm.moveFile('[LocalDS_0] images/base/copy2.vmdk', '[LocalDS_0] images/base/moved.vmdk', dc);
    const [ds] = (await client.inventory()).byType('Datastore');
    assert.ok(ds);
    const found = await client.datastore(ds.ref).search('[LocalDS_0] images/base');
    // Descriptors only: vcsim writes real -flat extents beside them, as ESXi does.
    const descriptors = (r: { file?: readonly { path: string }[] }): string[] => (r.file ?? []).map((f) => f.path).filter((n) => !n.endsWith('-flat.vmdk')).sort();
    const names = descriptors(found);
    assert.deepEqual(names, ['copy.vmdk', 'disk.vmdk', 'moved.vmdk']);
    const sub = await client.datastore(ds.ref).searchSubFolders('[LocalDS_0] images');
    assert.ok(sub.some((r) => r.folderPath?.endsWith('base') === true));
    await vdm.deleteVirtualDisk('[LocalDS_0] images/base/copy.vmdk', dc);
    await fm.deleteFile('[LocalDS_0] images/base/moved.vmdk', dc);
    const after = await client.datastore(ds.ref).search('[LocalDS_0] images/base');
    assert.deepEqual(descriptors(after), ['disk.vmdk']);
  });

  it('checks privileges, creates folders and adds a port group', async () => {
    const authz = client.authorizationManager();
    const root = client.content.rootFolder;
    const has = await authz.hasPrivilegeOnEntities([root], client.session.userSession?.key ?? '', ['System.View', 'VirtualMachine.Interact.PowerOn']);
    assert.equal(has.get(`Folder:${root.value}`)?.get('System.View'), true);
    const privs = await authz.fetchUserPrivilegeOnEntities([root], sim.username);
    assert.ok((privs.get(`Folder:${root.value}`) ?? []).includes('System.View'));
    const f = await client.rootFolder().createFolder('polyvisor');
    const child = await f.createFolder('instances');
    assert.equal(await child.name(), 'instances');
    const [host] = (await client.inventory()).byType('HostSystem');
    assert.ok(host);
    await client.host(host.ref).addPortGroup({ name: 'br-int', vswitchName: 'vSwitch0', vlanId: 100 });
    assert.ok((await client.inventory()).byType('Network').some((n) => n.props['name'] === 'br-int'));
  });
});
