import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createComputeAgent, type ComputeAgent } from '../../../../src/compute/agent/index.js';
import { VmwareDriver } from '../../../../src/compute/drivers/vmware/index.js';
import { PowerState } from '../../../../src/compute/states.js';
import { createScheduler, type Scheduler } from '../../../../src/compute/scheduler/index.js';
import { configFromText } from '../../../../src/config/load.js';
import { getSystemMetadata } from '../../../../src/db/repos/instance-extras.js';
import { getInstance } from '../../../../src/db/repos/instances.js';
import { createImageProvider, FileImageStore } from '../../../../src/image/index.js';
import { silentLogger } from '../../../../src/log.js';
import { startTestVcsim, type TestVcsim } from '../../../vsphere/vcsim-harness.js';
import { waitOnBus } from '../../agent/harness.js';
import { IMAGE_ID, SERVER, startHarness, str, type ComputeHarness } from '../../api/harness.js';
import { datastorePath, simOptions } from './support.js';

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/**
 * createImage, createBackup and shelve/unshelve of VMware servers through the Compute API:
 * the real compute agent with the VMware driver against vcsim (full copies, so the VM's
 * disk on vcsim holds the image's real bytes), the scheduler and the file image store.
 */
describe('compute API on VMware: createImage, shelve and unshelve (vcsim)', () => {
  let sim: TestVcsim;
  let t: ComputeHarness;
  let driver: VmwareDriver;
  let agent: ComputeAgent;
  let scheduler: Scheduler;
  let dir: string;
  /** The guest's disk as raw bytes; the base image holds it as a streamOptimized VMDK. */
  let RAW: Buffer;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pv-vmsnap-api-'));
    RAW = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < RAW.length; i += 4) RAW.writeUInt32LE((i * 2654435761) >>> 0, i);
    await writeFile(join(dir, 'disk.raw'), RAW);
    await promisify(execFile)('qemu-img', ['convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=streamOptimized', join(dir, 'disk.raw'), join(dir, 'disk.vmdk')]);
    const vmdk = await readFile(join(dir, 'disk.vmdk'));

    sim = await startTestVcsim({ clusters: 1, hostsPerCluster: 1 });
    t = await startHarness(`[quota]\ninstances = 100\ncores = 200\nram = 512000\n`);
    const store = new FileImageStore(join(dir, 'store'));
    const put = await store.put(Readable.from([vmdk]));
    await t.h.db.updateTable('images').set({
      location: put.location, disk_format: 'vmdk', size: put.size, virtual_size: RAW.length,
      properties: JSON.stringify({ vmware_disktype: 'streamOptimized', vmware_adaptertype: 'busLogic', vmware_ostype: 'debian10_64Guest' }),
    }).where('id', '=', IMAGE_ID).execute();
    const config = configFromText(`[DEFAULT]\nhost = c1\nreserved_host_memory_mb = 0\n`).config;
    driver = new VmwareDriver(simOptions(sim, { clusterNames: ['DC0_C0'], useLinkedClone: false }));
    await driver.init(AbortSignal.timeout(30_000));
    const images = createImageProvider(t.h.db, store, { formats: driver.capabilities.diskFormats });
    agent = createComputeAgent({ db: t.h.db, bus: t.h.bus, config, logger: silentLogger, driver, images });
    await agent.start();
    scheduler = createScheduler({ db: t.h.db, bus: t.h.bus, config, logger: silentLogger, identity: 'test:scheduler' });
    await scheduler.start();
  });
  after(async () => {
    await scheduler.stop();
    await agent.stop();
    await driver.close();
    await t.close();
    await sim.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const act = (uuid: string, body: unknown) => t.call('POST', `/compute/v2.1/servers/${uuid}/action`, 'member-a', body, { 'openstack-api-version': 'compute 2.45' });
  const settled = (uuid: string) =>
    waitOnBus(t.h.bus, `server ${uuid} to settle`, async () => {
      const row = await getInstance(t.h.db, uuid);
      return row && row.task_state === null && row.vm_state !== 'building' ? row : undefined;
    }, 60_000);
  const image = (id: string) => t.h.db.selectFrom('images').selectAll().where('id', '=', id).executeTakeFirst();
  const props = async (id: string): Promise<Record<string, string>> => JSON.parse((await image(id))?.properties ?? '{}') as Record<string, string>;
  const rootFlat = (uuid: string): Buffer => readFileSync(join(datastorePath(sim), uuid, `${uuid}-root-flat.vmdk`));
  const tempLeft = (): string[] => {
    const d = join(datastorePath(sim), 'vmware_temp');
    return existsSync(d) ? readdirSync(d) : [];
  };
  const boot = async (name: string): Promise<string> => {
    const res = await t.call('POST', '/compute/v2.1/servers', 'member-a', SERVER({ name }));
    assert.equal(res.status, 202, res.text);
    const uuid = str(res.body, 'server', 'id');
    const row = await settled(uuid);
    assert.equal(row.vm_state, 'active', `boot of ${name}: ${row.vm_state}`);
    return uuid;
  };

  it('createImage of a running VMware server: an active flat VMDK image with the guest\'s bytes and the VM\'s vmware properties', async () => {
    const uuid = await boot('snap');
    assert.equal(sha256(rootFlat(uuid)), sha256(RAW), 'the VM booted from the image\'s bytes (converted from streamOptimized)');
    const res = await act(uuid, { createImage: { name: 'snap-1' } });
    assert.equal(res.status, 202, res.text);
    const imageId = str(res.body, 'image_id');
    const row = await settled(uuid);
    assert.equal(row.vm_state, 'active');
    const img = await image(imageId);
    assert.equal(img?.status, 'active');
    assert.equal(img?.disk_format, 'vmdk');
    assert.equal(img?.container_format, 'bare');
    assert.equal(img?.size, RAW.length);
    assert.equal(img?.checksum, md5(RAW), 'the snapshot is the guest\'s disk, byte for byte');
    const p = await props(imageId);
    assert.deepEqual(
      [p['vmware_disktype'], p['vmware_adaptertype'], p['vmware_ostype'], p['hypervisor_type'], p['image_type'], p['instance_uuid'], p['base_image_ref']],
      ['preallocated', 'busLogic', 'debian10_64Guest', undefined, 'snapshot', uuid, IMAGE_ID],
      'the inherited vmware_disktype=streamOptimized does not survive (the snapshot is a flat extent), and no hypervisor_type ties it to VMware',
    );
    assert.equal((await driver.getInstanceState({ uuid, node: row.node ?? '', driverInfo: JSON.parse(row.driver_info ?? '{}') as Record<string, unknown> }, AbortSignal.timeout(10_000))).powerState, PowerState.RUNNING, 'still running');
    assert.deepEqual(tempLeft(), [], 'no temporary folder is left on the datastore');
  });

  it('shelve snapshots and offloads a VMware server; unshelve boots it again from the snapshot with the same bytes', async () => {
    const uuid = await boot('shelf');
    assert.equal((await act(uuid, { shelve: null })).status, 202);
    const off = await settled(uuid);
    assert.equal(off.vm_state, 'shelved_offloaded');
    assert.equal(existsSync(join(datastorePath(sim), uuid)), false, 'the VM and its folder are gone from vCenter');
    const shelvedId = (await getSystemMetadata(t.h.db, uuid))['shelved_image_id'] ?? '';
    const shelved = await image(shelvedId);
    assert.equal(shelved?.status, 'active');
    assert.equal(shelved?.checksum, md5(RAW));
    assert.equal((await props(shelvedId))['vmware_disktype'], 'preallocated');

    assert.equal((await act(uuid, { unshelve: null })).status, 202);
    const back = await settled(uuid);
    assert.equal(back.vm_state, 'active');
    assert.equal(sha256(rootFlat(uuid)), sha256(RAW), 'the unshelved VM has the shelved disk\'s bytes');
    assert.equal((await image(shelvedId))?.deleted, 1, 'the shelved image is deleted after unshelve');
    assert.deepEqual(tempLeft(), []);
  });
});
