import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { after, before, describe, it } from 'node:test';
import { createImageProvider } from '../../src/image/index.js';
import { FileImageStore } from '../../src/image/store/file-store.js';
import { OCTET, startImageApi, type ImageHarness } from './harness.js';

describe('image provider for the compute agent', () => {
  let h: ImageHarness;
  before(async () => {
    // Uploads unexamined: this test is about the provider, on bytes that are not a real qcow2.
    h = await startImageApi({ inspectorsFor: () => [] });
  });
  after(async () => {
    await h.close();
  });

  it('streams an active image in its stored format and refuses formats it cannot make clearly', async () => {
    const img = await h.create('member-a', { name: 'boot', disk_format: 'qcow2', container_format: 'bare', hypervisor_type: 'qemu' });
    const id = String(img['id']);
    const provider = createImageProvider(h.handle.db, new FileImageStore(h.storeDir));
    const signal = AbortSignal.timeout(10_000);
    await assert.rejects(provider.get(id, signal), /queued: only an active image/);
    await assert.rejects(provider.get('00000000-0000-0000-0000-000000000000', signal), /could not be found/);

    assert.equal((await h.call('member-a', 'PUT', `/image/v2/images/${id}/file`, Buffer.from('qcow2 bytes'), OCTET)).statusCode, 204);
    const source = await provider.get(id, signal);
    assert.equal(source.diskFormat, 'qcow2');
    assert.equal(source.size, 11);
    assert.deepEqual(source.properties, { hypervisor_type: 'qemu' });
    assert.equal(await text(await source.open(null, signal)), 'qcow2 bytes');
    assert.equal(await text(await source.open('qcow2', signal)), 'qcow2 bytes');
    await assert.rejects(source.open('vhdx', signal), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'image_format_unavailable');
      assert.match(err.message, /stored as qcow2; the driver asked for vhdx, which cannot be made from it/);
      return true;
    });
  });

  it('a snapshot upload keeps inherited properties but drops or replaces those that describe another disk', async () => {
    const provider = createImageProvider(h.handle.db, new FileImageStore(h.storeDir));
    const signal = AbortSignal.timeout(10_000);
    const inherited = { vmware_disktype: 'streamOptimized', vmware_adaptertype: 'ide', os_distro: 'debian' };
    const queued = async () => String((await h.create('member-a', { name: 'snap', ...inherited }))['id']);
    const props = async (id: string) => (await h.call('member-a', 'GET', `/image/v2/images/${id}`)).json<Record<string, unknown>>();

    const qcow2 = await queued();
    await provider.upload?.(qcow2, Readable.from([Buffer.from('qcow2 snapshot')]), { diskFormat: 'qcow2', containerFormat: 'bare' }, signal);
    const a = await props(qcow2);
    assert.deepEqual([a['status'], a['disk_format'], a['vmware_disktype'], a['vmware_adaptertype'], a['os_distro']], ['active', 'qcow2', undefined, 'ide', 'debian']);

    const vmdk = await queued();
    const driverProps = { vmware_disktype: 'preallocated', vmware_adaptertype: 'lsiLogic' };
    await provider.upload?.(vmdk, Readable.from([Buffer.from('flat extent')]), { diskFormat: 'vmdk', containerFormat: 'bare', properties: driverProps }, signal);
    const b = await props(vmdk);
    assert.deepEqual([b['disk_format'], b['vmware_disktype'], b['vmware_adaptertype'], b['os_distro']], ['vmdk', 'preallocated', 'lsiLogic', 'debian']);
  });
});
