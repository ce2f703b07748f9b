import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import SQLite from 'better-sqlite3';
import { diskSizes, pyvmomiVm, type PyVmPlacement } from '../compute/drivers/vmware/pyvmomi-vm.js';
import { ImageFixtures } from '../image/formats/fixtures.js';
import { startCompute, type ComputeProcess } from '../support/polyvisor-compute.js';
import { eventually, startPolyvisor, type PolyvisorProcess } from '../support/polyvisor-process.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { startTestVcsim, type TestVcsim } from '../vsphere/vcsim-harness.js';
import { vmwareConf } from './vmware-support.js';

const MiB = 1024 * 1024;
const GiB_KB = 1024 * 1024;

type Server = { id: string; status: string; flavor: string; 'OS-EXT-SRV-ATTR:host': string; 'OS-EXT-SRV-ATTR:hypervisor_hostname': string };

/**
 * Resize through the whole product on VMware: `polyvisor serve` with ONE compute service
 * managing two vCenter clusters (two nodes of one host), `[DEFAULT] allow_resize_to_same_host
 * = True` so that the scheduler may pick the other cluster of the same host, the real
 * openstack CLI, and pyVmomi as the witness of what vcsim holds.
 */
describe('VMware resize end to end: openstack CLI on polyvisor serve with vcsim (2 clusters, one service)', () => {
  const fx = new ImageFixtures();
  const dbDir = mkdtempSync(join(tmpdir(), 'polyvisor-vmmove-db-'));
  let sim: TestVcsim;
  let pv: PolyvisorProcess;
  const vmOf = async (uuid: string): Promise<PyVmPlacement> => {
    const vm = await pyvmomiVm(sim, uuid);
    assert.ok(vm, `pyVmomi sees the VM of server ${uuid}`);
    return vm;
  };
  /** The cluster owning the VM's resource pool, asked through pyVmomi. */
  const clusterOf = async (uuid: string): Promise<string | null> => {
    const p = await vmOf(uuid);
    assert.equal(p.pool, p.hostCluster, 'the VM runs on a host of the cluster whose pool holds it');
    return p.pool;
  };
  const show = (id: string): Promise<Server> => pv.openstackJson<Server>(['server', 'show', id]);
  const statusIs = (id: string, status: string): Promise<Server> =>
    eventually(async () => {
      const s = await show(id);
      return s.status === status ? s : undefined;
    }, `server ${id} ${status}`);

  before(async () => {
    sim = await startTestVcsim({ clusters: 2, hostsPerCluster: 2 });
    pv = await startPolyvisor({ conf: vmwareConf(sim, '', 'allow_resize_to_same_host = True'), databaseUrl: `sqlite:///${join(dbDir, 'pv.sqlite')}` });
    fx.raw('disk.raw', 4 * MiB);
    fx.qemuImg('convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=monolithicFlat,adapter_type=lsilogic', 'disk.raw', 'disk.vmdk');
    await pv.openstack(['image', 'create', '--disk-format', 'vmdk', '--container-format', 'bare', '--property', 'vmware_adaptertype=lsiLogic', '--property', 'vmware_disktype=preallocated', '--file', fx.path('disk-flat.vmdk'), 'flat']);
    await pv.openstack(['flavor', 'create', '--vcpus', '1', '--ram', '256', '--disk', '1', 'v.small']);
    await pv.openstack(['flavor', 'create', '--vcpus', '2', '--ram', '512', '--disk', '2', '--ephemeral', '1', 'v.grow']);
    await pv.openstack(['flavor', 'create', '--vcpus', '4', '--ram', '768', '--disk', '3', '--ephemeral', '1', 'v.more']);
  });
  after(async () => {
    await pv.stop();
    await sim.stop();
    fx.close();
    rmSync(dbDir, { recursive: true, force: true });
  });

  it('the VMware nodes report supports_migrate and supports_live_migration', async () => {
    await eventually(async () => {
      const db = new SQLite(join(dbDir, 'pv.sqlite'), { readonly: true, fileMustExist: true });
      try {
        const rows = db.prepare('SELECT hypervisor_type, capabilities FROM compute_nodes').all() as { hypervisor_type: string; capabilities: string }[];
        return rows.length === 2 ? rows : undefined;
      } finally {
        db.close();
      }
    }, 'two compute nodes').then((rows) => {
      for (const r of rows) {
        assert.equal(r.hypervisor_type, 'VMware vCenter Server');
        const caps = JSON.parse(r.capabilities) as Record<string, string>;
        assert.equal(caps['supports_migrate'], 'True');
        assert.equal(caps['supports_live_migration'], 'True');
      }
    });
  });

  it('openstack server resize --flavor → VERIFY_RESIZE on the other cluster of the same host → confirm; pyVmomi sees the new vCPUs, memory and disks', async () => {
    const created = await pv.openstackJson<Server>(['server', 'create', '--image', 'flat', '--flavor', 'v.small', '--wait', 'mover']);
    assert.equal(created.status, 'ACTIVE');
    const before = await show(created.id);
    const clusterBefore = await clusterOf(created.id);

    await pv.openstack(['server', 'resize', '--flavor', 'v.grow', '--wait', created.id]);
    const resized = await show(created.id);
    assert.equal(resized.status, 'VERIFY_RESIZE');
    assert.match(resized.flavor, /v\.grow/);
    assert.equal(resized['OS-EXT-SRV-ATTR:host'], before['OS-EXT-SRV-ATTR:host'], 'one compute service: the same host');
    assert.notEqual(resized['OS-EXT-SRV-ATTR:hypervisor_hostname'], before['OS-EXT-SRV-ATTR:hypervisor_hostname'], 'the scheduler chose the other cluster (more free RAM)');
    const clusterAfter = await clusterOf(created.id);
    assert.notEqual(clusterAfter, clusterBefore, 'the VM was relocated to the other cluster');
    let vm = await vmOf(created.id);
    assert.deepEqual([vm.powerState, vm.numCPU, vm.memoryMB], ['poweredOn', 2, 512]);
    assert.deepEqual(diskSizes(vm), { root: 2 * GiB_KB, others: [GiB_KB] }, 'the root disk (linked clone) grown to 2 GB, a 1 GB ephemeral disk added');

    await pv.openstack(['server', 'resize', 'confirm', created.id]);
    await eventually(async () => {
      const migrations = await pv.openstackJson<{ Status: string }[]>(['server', 'migration', 'list', '--server', created.id]);
      return migrations.some((m) => m.Status === 'confirmed') ? true : undefined;
    }, 'the resize confirmed');
    const confirmed = await statusIs(created.id, 'ACTIVE');
    assert.match(confirmed.flavor, /v\.grow/);
    vm = await vmOf(created.id);
    assert.equal(vm.extraConfig['polyvisor.move'] ?? '', '', 'nothing is kept for a revert after the confirm');
    assert.equal(await clusterOf(created.id), clusterAfter);
  });

  it('resize then revert: back on its cluster with its old vCPUs and memory, running; the grown disk keeps its size', async () => {
    const s = await show('mover');
    const cluster = await clusterOf(s.id);
    await pv.openstack(['server', 'resize', '--flavor', 'v.more', '--wait', s.id]);
    assert.equal((await show(s.id)).status, 'VERIFY_RESIZE');
    assert.notEqual(await clusterOf(s.id), cluster);
    assert.deepEqual([(await vmOf(s.id)).numCPU, (await vmOf(s.id)).memoryMB], [4, 768]);

    await pv.openstack(['server', 'resize', 'revert', s.id]);
    const reverted = await statusIs(s.id, 'ACTIVE');
    assert.match(reverted.flavor, /v\.grow/);
    assert.equal(await clusterOf(s.id), cluster);
    const vm = await vmOf(s.id);
    assert.deepEqual([vm.powerState, vm.numCPU, vm.memoryMB], ['poweredOn', 2, 512]);
    assert.equal(diskSizes(vm).root, 3 * GiB_KB, 'a vSphere disk cannot shrink: the root disk stays at 3 GB');
  });

  it('a resize to a smaller root disk is refused by the driver: the server stays ACTIVE as it was, the action event says why', async () => {
    const s = await show('mover');
    const cluster = await clusterOf(s.id);
    await pv.openstack(['server', 'resize', '--flavor', 'v.small', s.id]);
    await eventually(async () => {
      const migrations = await pv.openstackJson<{ Status: string; 'New Flavor'?: unknown }[]>(['server', 'migration', 'list', '--server', s.id]);
      return migrations.some((m) => m.Status === 'error') ? true : undefined;
    }, 'the refused migration');
    const after = await statusIs(s.id, 'ACTIVE');
    assert.match(after.flavor, /v\.grow/);
    const vm = await vmOf(s.id);
    assert.deepEqual([vm.powerState, vm.numCPU, vm.memoryMB], ['poweredOn', 2, 512]);
    assert.equal(await clusterOf(s.id), cluster);
    const actions = await pv.openstackJson<{ 'Request ID': string; Action: string }[]>(['server', 'event', 'list', s.id]);
    const resize = actions.find((a) => a.Action === 'resize');
    assert.ok(resize);
    const detail = await pv.openstack(['server', 'event', 'show', s.id, resize['Request ID'], '-f', 'json']);
    assert.match(detail, /Unable to shrink disk: the root disk is 3 GB and flavor v\.small has 1 GB/);
  });
});

/**
 * Cold and live migration need another compute host (the API never picks the source host for
 * them, as Nova): two compute services on one vCenter, one cluster each — `polyvisor serve`
 * (host e2e-host, DC0_C0) and `polyvisor compute` (host vc-c1, DC0_C1) sharing PostgreSQL.
 */
describe('VMware cold and live migration end to end: two compute services, one cluster each', () => {
  const fx = new ImageFixtures();
  let pg: TestPostgres;
  let sim: TestVcsim;
  let pv: PolyvisorProcess;
  let c1: ComputeProcess;
  const clusterOf = async (uuid: string): Promise<string | null> => {
    const p = await pyvmomiVm(sim, uuid);
    assert.ok(p, `pyVmomi sees the VM of server ${uuid}`);
    assert.equal(p.pool, p.hostCluster, 'the VM runs on a host of the cluster whose pool holds it');
    return p.pool;
  };
  const HOST_OF: Readonly<Record<string, string>> = { DC0_C0: 'e2e-host', DC0_C1: 'vc-c1' };

  before(async () => {
    [pg, sim] = await Promise.all([startPostgres(), startTestVcsim({ clusters: 2, hostsPerCluster: 2 })]);
    const databaseUrl = await pg.createDatabase();
    pv = await startPolyvisor({ databaseUrl, conf: vmwareConf(sim, '', '', ['DC0_C0']) });
    c1 = await startCompute({ host: 'vc-c1', databaseUrl, conf: vmwareConf(sim, `\n[glance_store]\nfilesystem_store_datadir = ${join(pv.stateDir, 'images')}\n`, '', ['DC0_C1']) });
    await eventually(async () => ((await pv.openstackJson<unknown[]>(['hypervisor', 'list'])).length === 2 ? true : undefined), 'two hypervisors');
    fx.raw('disk.raw', 4 * MiB);
    fx.qemuImg('convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=monolithicFlat,adapter_type=lsilogic', 'disk.raw', 'disk.vmdk');
    await pv.openstack(['image', 'create', '--disk-format', 'vmdk', '--container-format', 'bare', '--property', 'vmware_adaptertype=lsiLogic', '--property', 'vmware_disktype=preallocated', '--file', fx.path('disk-flat.vmdk'), 'flat']);
    await pv.openstack(['flavor', 'create', '--vcpus', '1', '--ram', '256', '--disk', '1', 'v.small']);
  });
  after(async () => {
    await c1?.stop();
    await pv?.stop();
    await sim?.stop();
    await pg?.stop();
    fx.close();
  });

  it('live migration (vMotion) to the other service\'s cluster, then a cold migration back with confirm', async () => {
    const created = await pv.openstackJson<Server>(['server', 'create', '--image', 'flat', '--flavor', 'v.small', '--wait', 'traveller']);
    assert.equal(created.status, 'ACTIVE');
    const home = await clusterOf(created.id);
    assert.ok(home !== null && HOST_OF[home] !== undefined, String(home));
    assert.equal((await pv.openstackJson<Server>(['server', 'show', created.id]))['OS-EXT-SRV-ATTR:host'], HOST_OF[home]);

    await pv.openstack(['server', 'migrate', '--live-migration', '--wait', created.id]);
    const live = await pv.openstackJson<Server>(['server', 'show', created.id]);
    assert.equal(live.status, 'ACTIVE');
    const away = await clusterOf(created.id);
    assert.notEqual(away, home, 'vMotion moved the VM to the other cluster');
    assert.equal(live['OS-EXT-SRV-ATTR:host'], HOST_OF[away ?? '']);
    assert.equal((await pyvmomiVm(sim, created.id))?.powerState, 'poweredOn');

    await pv.openstack(['server', 'migrate', '--wait', created.id]);
    const cold = await pv.openstackJson<Server>(['server', 'show', created.id]);
    assert.equal(cold.status, 'VERIFY_RESIZE');
    assert.equal(await clusterOf(created.id), home, 'the cold migration relocated the VM back');
    await pv.openstack(['server', 'resize', 'confirm', created.id]);
    const migrations = await eventually(async () => {
      const listed = await pv.openstackJson<{ Status: string; Type?: string; 'Migration Type'?: string }[]>(['server', 'migration', 'list', '--server', created.id]);
      return listed.some((m) => m.Status === 'confirmed') ? listed : undefined;
    }, 'the cold migration confirmed');
    assert.deepEqual(migrations.map((m) => m.Status).sort(), ['completed', 'confirmed']);
    const back = await eventually(async () => {
      const s = await pv.openstackJson<Server>(['server', 'show', created.id]);
      return s.status === 'ACTIVE' ? s : undefined;
    }, 'ACTIVE after the confirm');
    assert.equal(back['OS-EXT-SRV-ATTR:host'], HOST_OF[home]);
    const vm = await pyvmomiVm(sim, created.id);
    assert.equal(vm?.powerState, 'poweredOn');
    assert.equal(vm?.extraConfig['polyvisor.move'] ?? '', '');
  });
});
