import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { configFromText } from '../../../src/config/load.js';
import { diskInspectorsFor } from '../../../src/image/formats/index.js';
import { OCTET, PATCH, startImageApi, type ImageHarness } from '../harness.js';
import { ImageFixtures } from './fixtures.js';

const MiB = 1024 * 1024;

/**
 * Uploads through the Image API with the disk-format inspectors, as `openstack image create
 * --disk-format ... --property ... < file` does: POST the image with its properties, then
 * PUT the file. What the user sees: the image's fields, and the fault of a refused upload.
 */
describe('Image API uploads checked against their content', () => {
  const fx = new ImageFixtures();
  let h: ImageHarness;
  before(async () => {
    fx.raw('ubuntu.raw', 8 * MiB);
    fx.qemuImg('convert', '-f', 'raw', '-O', 'qcow2', 'ubuntu.raw', 'trusty-server-cloudimg-amd64-disk1.img');
    fx.qemuImg('convert', '-f', 'qcow2', 'trusty-server-cloudimg-amd64-disk1.img', '-O', 'vmdk', 'trusty-server-cloudimg-amd64-disk1.vmdk');
    fx.qemuImg('convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=monolithicFlat,adapter_type=lsilogic', 'ubuntu.raw', 'ubuntuLTS.vmdk');
    fx.qemuImg('convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=streamOptimized,adapter_type=lsilogic', 'ubuntu.raw', 'ubuntu-stream.vmdk');
    fx.qemuImg('create', '-f', 'qcow2', '-o', 'compat=0.10', 'huge.qcow2', '2G');
    const { config } = configFromText(`[image]\nmax_virtual_size = ${1024 * MiB}\n`);
    h = await startImageApi({ inspectorsFor: diskInspectorsFor(config) });
  });
  after(async () => {
    await h.close();
    fx.close();
  });

  async function createAndUpload(body: Record<string, unknown>, file: string) {
    const img = await h.create('member-a', body);
    const url = `/image/v2/images/${String(img['id'])}`;
    const put = await h.call('member-a', 'PUT', `${url}/file`, fx.read(file), OCTET);
    const shown = (await h.call('member-a', 'GET', url)).json<Record<string, unknown>>();
    return { put, shown, url };
  }

  it('seed: sparse VMDK from qemu-img with vmware_disktype=sparse and vmware_adaptertype=ide', async () => {
    const { put, shown } = await createAndUpload(
      { name: 'trusty-cloud', container_format: 'bare', disk_format: 'vmdk', vmware_disktype: 'sparse', vmware_adaptertype: 'ide' },
      'trusty-server-cloudimg-amd64-disk1.vmdk',
    );
    assert.equal(put.statusCode, 204, put.body);
    assert.equal(shown['status'], 'active');
    assert.equal(shown['virtual_size'], 8 * MiB);
    assert.equal(shown['vmware_disktype'], 'sparse');
    assert.equal(shown['vmware_adaptertype'], 'ide');
    assert.equal(shown['polyvisor_detected_format'], 'vmdk/monolithicSparse');
  });

  it('fills in vmware_disktype and vmware_adaptertype the command left out', async () => {
    const { put, shown } = await createAndUpload(
      { name: 'ubuntu-sparse', container_format: 'bare', disk_format: 'vmdk', vmware_ostype: 'ubuntu64Guest' },
      'trusty-server-cloudimg-amd64-disk1.vmdk',
    );
    assert.equal(put.statusCode, 204, put.body);
    assert.equal(shown['vmware_disktype'], 'sparse');
    assert.equal(shown['vmware_adaptertype'], 'ide');
    assert.equal(shown['vmware_ostype'], 'ubuntu64Guest');
    const stream = await createAndUpload({ name: 'stream', container_format: 'bare', disk_format: 'vmdk' }, 'ubuntu-stream.vmdk');
    assert.equal(stream.shown['vmware_disktype'], 'streamOptimized');
    assert.equal(stream.shown['vmware_adaptertype'], 'lsiLogic');
  });

  it('seed: the -flat.vmdk extent with vmware_disktype=preallocated, lsiLogic and hypervisor_type=vmware', async () => {
    const { put, shown } = await createAndUpload(
      { name: 'ubuntu-thick-scsi', container_format: 'bare', disk_format: 'vmdk', vmware_adaptertype: 'lsiLogic', vmware_disktype: 'preallocated', hypervisor_type: 'vmware', vmware_ostype: 'ubuntu64Guest' },
      'ubuntuLTS-flat.vmdk',
    );
    assert.equal(put.statusCode, 204, put.body);
    assert.equal(shown['virtual_size'], 8 * MiB);
    assert.equal(shown['vmware_disktype'], 'preallocated');
    assert.equal(shown['polyvisor_detected_format'], 'raw');
  });

  /** A refused upload: 400 with the message, the image still queued, nothing in the store. */
  async function refused(body: Record<string, unknown>, file: string, message: RegExp) {
    const before = h.storeFiles().length;
    const { put, shown } = await createAndUpload(body, file);
    assert.equal(put.statusCode, 400, put.body);
    assert.match(put.json<{ message: string }>().message, message);
    assert.equal(shown['status'], 'queued');
    assert.equal(shown['size'], null);
    assert.equal(shown['checksum'], null);
    assert.equal(h.storeFiles().length, before, 'the store holds nothing of the refused upload');
  }

  it('refuses lsiLogic claimed on an ide disk', async () => {
    await refused(
      { name: 'x', container_format: 'bare', disk_format: 'vmdk', vmware_disktype: 'sparse', vmware_adaptertype: 'lsiLogic' },
      'trusty-server-cloudimg-amd64-disk1.vmdk',
      /VMDK monolithicSparse disk with adapter type ide.*vmware_adaptertype is "lsiLogic".*Set vmware_adaptertype=ide/,
    );
  });

  it('refuses sparse claimed on a streamOptimized file', async () => {
    await refused({ name: 'x', container_format: 'bare', disk_format: 'vmdk', vmware_disktype: 'sparse' }, 'ubuntu-stream.vmdk', /streamOptimized disk.*set vmware_disktype=streamOptimized/);
  });

  it('refuses disk_format=vmdk on qcow2 content', async () => {
    await refused({ name: 'x', container_format: 'bare', disk_format: 'vmdk' }, 'trusty-server-cloudimg-amd64-disk1.img', /The file is a qcow2 \(version 3\) image, virtual size 8 MiB, not vmdk: set disk_format=qcow2/);
  });

  it('refuses an unknown guest ID and other invalid VMware values at create and patch, before any upload', async () => {
    const before = (await h.call('member-a', 'GET', '/image/v2/images')).json<{ images: unknown[] }>().images.length;
    const created = await h.call('member-a', 'POST', '/image/v2/images', { name: 'x', container_format: 'bare', disk_format: 'vmdk', vmware_ostype: 'ubuntu99Guest' });
    assert.equal(created.statusCode, 400);
    assert.match(created.json<{ message: string }>().message, /vmware_ostype "ubuntu99Guest" is not a vSphere guest ID/);
    assert.equal((await h.call('member-a', 'GET', '/image/v2/images')).json<{ images: unknown[] }>().images.length, before, 'nothing was created');

    const img = await h.create('member-a', { name: 'ok', container_format: 'bare', disk_format: 'vmdk' });
    const url = `/image/v2/images/${String(img['id'])}`;
    const badAdapter = await h.call('member-a', 'PATCH', url, [{ op: 'add', path: '/vmware_adaptertype', value: 'scsi' }], PATCH);
    assert.equal(badAdapter.statusCode, 400);
    assert.match(badAdapter.json<{ message: string }>().message, /vmware_adaptertype "scsi" is not one of lsiLogic, busLogic, lsiLogicsas, paraVirtual, ide/);

    // After the upload, the disk type is bound to the content.
    assert.equal((await h.call('member-a', 'PUT', `${url}/file`, fx.read('trusty-server-cloudimg-amd64-disk1.vmdk'), OCTET)).statusCode, 204);
    const lie = await h.call('member-a', 'PATCH', url, [{ op: 'replace', path: '/vmware_disktype', value: 'preallocated' }], PATCH);
    assert.equal(lie.statusCode, 400);
    assert.match(lie.json<{ message: string }>().message, /data is a VMDK monolithicSparse disk: vmware_disktype must stay sparse/);
    const shown = (await h.call('member-a', 'GET', url)).json<Record<string, unknown>>();
    assert.equal(shown['vmware_disktype'], 'sparse');

    // And the adapter's bus: qemu-img wrote an IDE disk, which no SCSI controller boots.
    assert.equal(shown['vmware_adaptertype'], 'ide');
    const scsi = await h.call('member-a', 'PATCH', url, [{ op: 'replace', path: '/vmware_adaptertype', value: 'lsiLogic' }], PATCH);
    assert.equal(scsi.statusCode, 400);
    assert.match(scsi.json<{ message: string }>().message, /ddb\.adapterType is ide: vmware_adaptertype "lsiLogic" would put an IDE disk on a SCSI controller/);
    assert.equal((await h.call('member-a', 'GET', url)).json<Record<string, unknown>>()['vmware_adaptertype'], 'ide');
    // The inspection results themselves cannot be edited away.
    const erase = await h.call('member-a', 'PATCH', url, [{ op: 'remove', path: '/polyvisor_detected_adapter' }], PATCH);
    assert.equal(erase.statusCode, 403);
  });

  it('refuses a VMDK descriptor whose extent is outside the upload, and a virtual size over the limit', async () => {
    await refused({ name: 'x', container_format: 'bare', disk_format: 'vmdk' }, 'ubuntuLTS.vmdk', /FLAT extent "ubuntuLTS-flat\.vmdk" is outside this upload/);
    await refused({ name: 'x', container_format: 'bare', disk_format: 'qcow2' }, 'huge.qcow2', /virtual size is 2 GiB, over the limit of 1 GiB/);
  });

  it('a refused image can be fixed with a patch and uploaded again', async () => {
    const img = await h.create('member-a', { name: 'fix-me', container_format: 'bare', disk_format: 'vmdk', vmware_adaptertype: 'lsiLogic' });
    const url = `/image/v2/images/${String(img['id'])}`;
    assert.equal((await h.call('member-a', 'PUT', `${url}/file`, fx.read('trusty-server-cloudimg-amd64-disk1.vmdk'), OCTET)).statusCode, 400);
    const patched = await h.call('member-a', 'PATCH', url, [{ op: 'replace', path: '/vmware_adaptertype', value: 'ide' }], PATCH);
    assert.equal(patched.statusCode, 200, patched.body);
    assert.equal((await h.call('member-a', 'PUT', `${url}/file`, fx.read('trusty-server-cloudimg-amd64-disk1.vmdk'), OCTET)).statusCode, 204);
    const shown = (await h.call('member-a', 'GET', url)).json<Record<string, unknown>>();
    assert.deepEqual([shown['status'], shown['vmware_adaptertype'], shown['vmware_disktype']], ['active', 'ide', 'sparse']);
  });
});
