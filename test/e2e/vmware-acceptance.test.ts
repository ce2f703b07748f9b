import assert from 'node:assert/strict';
import { exec } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { pyvmomiView, type PyVm } from '../compute/drivers/vmware/pyvmomi.js';
import { ImageFixtures } from '../image/formats/fixtures.js';
import { ADMIN_PASSWORD, startPolyvisor, type PolyvisorProcess } from '../support/polyvisor-process.js';
import { startTestVcsim, type TestVcsim } from '../vsphere/vcsim-harness.js';
import { spawnLogs, vmwareConf } from './vmware-support.js';

const execAsync = promisify(exec);
const MiB = 1024 * 1024;

/**
 * Issue 5's acceptance through the whole product: vcsim with 2 clusters, `polyvisor serve`
 * as a real process with the seeds' [DEFAULT]/[vmware] block pointed at it, the real
 * openstack CLI, and pyVmomi as the independent witness of what vCenter holds.
 */
describe('VMware acceptance: polyvisor serve on vcsim with 2 clusters, openstack CLI, pyVmomi', () => {
  const fx = new ImageFixtures();
  let sim: TestVcsim;
  let pv: PolyvisorProcess;
  let env: NodeJS.ProcessEnv;
  const sh = async (command: string): Promise<string> => {
    try {
      return (await execAsync(command, { cwd: fx.dir, env, shell: '/bin/bash', timeout: 180_000, maxBuffer: 16 * MiB })).stdout;
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      throw new Error(`${command} failed: ${e.stderr ?? ''}${e.stdout ?? ''}`, { cause: err });
    }
  };
  const json = async <T>(command: string): Promise<T> => JSON.parse(await sh(`${command} -f json`)) as T;
  const vmOf = async (uuid: string): Promise<{ vm: PyVm; portgroups: Record<string, string> }> => {
    const view = await pyvmomiView(sim);
    const vm = view.vms.find((v) => v.name === uuid);
    assert.ok(vm, `pyVmomi sees a VM named ${uuid}`);
    return { vm, portgroups: view.portgroups };
  };

  before(async () => {
    sim = await startTestVcsim({ clusters: 2, hostsPerCluster: 2 });
    pv = await startPolyvisor({ conf: vmwareConf(sim) });
    env = {
      ...process.env, HOME: fx.dir, OS_AUTH_URL: `${pv.url}/identity/v3`, OS_USERNAME: 'admin', OS_PASSWORD: ADMIN_PASSWORD, OS_PROJECT_NAME: 'admin',
      OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_NAME: 'Default', OS_IDENTITY_API_VERSION: '3', OS_INTERFACE: 'public', OS_CLOUD: '',
    };
    fx.raw('ubuntu.raw', 4 * MiB);
    fx.qemuImg('convert', '-f', 'raw', '-O', 'vmdk', 'ubuntu.raw', 'ubuntuLTS-sparse.vmdk');
    fx.qemuImg('convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=monolithicFlat,adapter_type=lsilogic', 'ubuntu.raw', 'ubuntuLTS.vmdk');
    fx.qemuImg('convert', '-f', 'raw', '-O', 'qcow2', 'ubuntu.raw', 'trusty.img');
    fx.qemuImg('convert', '-f', 'qcow2', '-O', 'vmdk', 'trusty.img', 'trusty-server-cloudimg-amd64-disk1.vmdk');
  });
  after(async () => {
    await pv.stop();
    await sim.stop();
    fx.close();
  });

  it('openstack hypervisor list shows the 2 clusters as 2 VMware hypervisors', async () => {
    const hv = await json<{ 'Hypervisor Hostname': string; 'Hypervisor Type': string; State: string }[]>('openstack hypervisor list --long');
    assert.equal(hv.length, 2, JSON.stringify(hv));
    for (const h of hv) {
      assert.equal(h['Hypervisor Type'], 'VMware vCenter Server');
      assert.match(h['Hypervisor Hostname'], /^[a-z]+-\d+\.[0-9a-f-]{36}$/);
      assert.equal(h.State, 'up');
    }
  });

  const seeds: [string, string, string, string][] = [
    // name, the seeds' command (verbatim but the file), expected guestId, expected controller
    ['ubuntu-sparse', `openstack image create --disk-format vmdk --container-format bare --property vmware_disktype="sparse" --property vmware_ostype="ubuntu64Guest" ubuntu-sparse < ubuntuLTS-sparse.vmdk`, 'ubuntu64Guest', 'ide'],
    ['trusty-cloud', `openstack image create --container-format bare --disk-format vmdk --property vmware_disktype="sparse" --property vmware_adaptertype="ide" trusty-cloud < trusty-server-cloudimg-amd64-disk1.vmdk`, 'otherGuest', 'ide'],
    ['ubuntu-thick-scsi', `openstack image create --disk-format vmdk --container-format bare --property vmware_adaptertype="lsiLogic" --property vmware_disktype="preallocated" --property vmware_ostype="ubuntu64Guest" ubuntu-thick-scsi < ubuntuLTS-flat.vmdk`, 'ubuntu64Guest', 'VirtualLsiLogicController'],
  ];
  for (const [name, command, guestId, controller] of seeds) {
    it(`an image made by "${command.slice(0, 60)}…" boots to ACTIVE; pyVmomi sees the VM by uuid with guest, controller, NIC, VNC port and a delta disk on the cached base`, async () => {
      await sh(command);
      const image = await json<{ id: string; status: string }>(`openstack image show ${name}`);
      assert.equal(image.status, 'active');
      const server = await json<{ id: string; status: string }>(`openstack server create --image ${name} --flavor m1.tiny --wait vm-${name}`);
      assert.equal(server.status, 'ACTIVE');
      const { vm, portgroups } = await vmOf(server.id);
      assert.equal(vm.instanceUuid, server.id);
      assert.equal(vm.guestId, guestId);
      assert.equal(vm.powerState, 'poweredOn');
      if (controller !== 'ide') assert.ok(vm.controllers.some((c) => c.type.endsWith(`.${controller}`)), JSON.stringify(vm.controllers));
      else assert.equal(vm.disks[0]?.controllerKey, 200, 'the root disk is on the IDE controller');
      assert.deepEqual(vm.nics.map((n) => n.network ?? portgroups[n.portgroupKey ?? '']), ['VM Network']);
      const port = Number(vm.extraConfig['RemoteDisplay.vnc.port']);
      assert.ok(port >= 5900 && port <= 6105, `VNC port ${port}`);
      assert.match(vm.disks[0]?.parent ?? '', new RegExp(`^\\[LocalDS_0\\] vmware_base/${image.id}/${image.id}\\.vmdk$`));
      const shown = await json<Record<string, unknown>>(`openstack server show ${server.id}`);
      assert.equal(shown['progress'], 100, 'the transfer progress ended at 100');
    });
  }

  it('the second boot of an image transfers no image bytes', async () => {
    const server = await json<{ id: string; status: string }>('openstack server create --image ubuntu-thick-scsi --flavor m1.tiny --wait vm-again');
    assert.equal(server.status, 'ACTIVE');
    const log = spawnLogs(pv).find((l) => l.instance === server.id);
    assert.equal(log?.transferred, false, JSON.stringify(log));
  });

  it('20 concurrent boots of a new image move its bytes once per datastore, on both clusters', async () => {
    await sh('openstack image create --disk-format vmdk --container-format bare --property vmware_adaptertype="lsiLogic" --property vmware_disktype="preallocated" storm < ubuntuLTS-flat.vmdk');
    await sh('openstack server create --image storm --flavor m1.tiny --min 20 --max 20 storm');
    const deadline = Date.now() + 120_000;
    let servers: { ID: string; Status: string }[] = [];
    for (;;) {
      servers = await json<{ ID: string; Status: string }[]>('openstack server list --name ^storm');
      if (servers.length === 20 && servers.every((s) => s.Status === 'ACTIVE' || s.Status === 'ERROR')) break;
      assert.ok(Date.now() < deadline, `storm still building: ${JSON.stringify(servers)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.deepEqual(servers.filter((s) => s.Status !== 'ACTIVE'), []);
    const ids = new Set(servers.map((s) => s.ID));
    const logs = spawnLogs(pv).filter((l) => l.instance !== undefined && ids.has(l.instance));
    assert.equal(logs.length, 20);
    const datastores = new Set(logs.map((l) => l.datastore));
    assert.equal(logs.filter((l) => l.transferred === true).length, datastores.size, `one transfer per datastore (${[...datastores].join(', ')})`);
    // The agent logs the node of each server it made ACTIVE.
    const nodes = new Set(
      pv.logs().split('\n').filter((l) => l.includes('"instance is active"')).map((l) => JSON.parse(l) as { instance: string; node: string }).filter((l) => ids.has(l.instance)).map((l) => l.node),
    );
    assert.equal(nodes.size, 2, 'the storm used both clusters');
  });

  it('pause answers 409 (vSphere has none); the VNC console URL carries a token for the VM’s host and port', async () => {
    const server = await json<{ id: string }>('openstack server show vm-again');
    await assert.rejects(sh(`openstack server pause ${server.id}`), /409.*pause is not supported by this hypervisor \(VMware vCenter Server\)/s);
    const shown = await json<Record<string, unknown>>(`openstack server show ${server.id}`);
    assert.equal(shown['status'], 'ACTIVE');
    const console = await json<{ type: string; url: string }>(`openstack console url show --novnc ${server.id}`);
    assert.equal(console.type, 'novnc');
    assert.match(console.url, /\/console\/\?path=console%2Fwebsockify%3Ftoken%3D[A-Za-z0-9_-]{32,}$/);
  });
});
