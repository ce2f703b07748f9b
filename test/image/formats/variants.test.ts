import assert from 'node:assert/strict';
import { createWriteStream, existsSync, readdirSync, statSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import { configFromText } from '../../../src/config/load.js';
import { diskInspectorsFor } from '../../../src/image/formats/index.js';
import { createImageProvider, FileImageStore } from '../../../src/image/index.js';
import { OCTET, startImageApi, type ImageHarness } from '../harness.js';
import { ImageFixtures } from './fixtures.js';

const MiB = 1024 * 1024;

describe('format variants: one upload boots on VMware and KVM', () => {
  const fx = new ImageFixtures();
  let h: ImageHarness;
  before(async () => {
    fx.raw('disk.raw', 4 * MiB);
    fx.qemuImg('convert', '-f', 'raw', '-O', 'qcow2', 'disk.raw', 'disk.qcow2');
    const { config } = configFromText('');
    h = await startImageApi({ inspectorsFor: diskInspectorsFor(config) });
  });
  after(async () => {
    await h.close();
    fx.close();
  });

  async function upload(body: Record<string, unknown>, file: string): Promise<string> {
    const img = await h.create('member-a', { container_format: 'bare', ...body });
    const id = String(img['id']);
    const put = await h.call('member-a', 'PUT', `/image/v2/images/${id}/file`, fx.read(file), OCTET);
    assert.equal(put.statusCode, 204, put.body);
    return id;
  }

  const variantsDir = () => new FileImageStore(h.storeDir).variantsDirectory;
  const variantFiles = () => (existsSync(variantsDir()) ? readdirSync(variantsDir()).filter((n) => !n.includes('.partial-')) : []);

  it('produces a streamOptimized VMDK from a qcow2 once, with the image\'s adapter type, and reuses it', async () => {
    const id = await upload({ name: 'kvm-image', disk_format: 'qcow2', vmware_adaptertype: 'ide' }, 'disk.qcow2');
    const provider = createImageProvider(h.handle.db, new FileImageStore(h.storeDir));
    const source = await provider.get(id, AbortSignal.timeout(30_000));
    // Two drivers at once: one conversion.
    const out = [fx.path('a.vmdk'), fx.path('b.vmdk')];
    await Promise.all(out.map(async (p) => pipeline(await source.open('vmdk', AbortSignal.timeout(30_000)), createWriteStream(p))));
    assert.equal(variantFiles().length, 1);
    const info = JSON.parse(fx.qemuImg('info', '--output=json', '-f', 'vmdk', out[0] ?? '')) as { format: string; 'format-specific': { data: { 'create-type': string } } };
    assert.equal(info.format, 'vmdk');
    assert.equal(info['format-specific'].data['create-type'], 'streamOptimized');
    assert.match(fx.read('a.vmdk').subarray(0, 2048).toString('latin1'), /ddb\.adapterType = "ide"/);
    assert.match(fx.qemuImg('compare', '-f', 'vmdk', '-F', 'raw', out[0] ?? '', 'disk.raw'), /Images are identical/);
    const mtime = statSync(`${variantsDir()}/${variantFiles()[0] ?? ''}`).mtimeMs;

    await pipeline(await source.open('vmdk', AbortSignal.timeout(30_000)), createWriteStream(fx.path('c.vmdk')));
    assert.equal(statSync(`${variantsDir()}/${variantFiles()[0] ?? ''}`).mtimeMs, mtime, 'the variant is reused, not produced again');
    assert.ok(fx.read('c.vmdk').equals(fx.read('a.vmdk')));

    await pipeline(await source.open('raw', AbortSignal.timeout(30_000)), createWriteStream(fx.path('back.raw')));
    assert.ok(fx.read('back.raw').equals(fx.read('disk.raw')), 'the raw variant holds the same disk');
    assert.equal(variantFiles().length, 2);

    assert.equal((await h.call('member-a', 'DELETE', `/image/v2/images/${id}`)).statusCode, 204);
    assert.deepEqual(variantFiles(), [], 'variants go with their image');
  });

  it('serves a flat VMDK extent as raw without converting, and refuses formats it cannot make', async () => {
    fx.qemuImg('convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=monolithicFlat', 'disk.raw', 'thick.vmdk');
    const id = await upload({ name: 'thick', disk_format: 'vmdk' }, 'thick-flat.vmdk');
    const provider = createImageProvider(h.handle.db, new FileImageStore(h.storeDir));
    const source = await provider.get(id, AbortSignal.timeout(30_000));
    assert.equal(source.properties['vmware_disktype'], 'preallocated');
    await pipeline(await source.open('raw', AbortSignal.timeout(30_000)), createWriteStream(fx.path('flat.raw')));
    assert.ok(fx.read('flat.raw').equals(fx.read('disk.raw')));
    assert.deepEqual(variantFiles(), []);
    await assert.rejects(source.open('vhdx', AbortSignal.timeout(30_000)), (err: Error & { code?: string }) => err.code === 'image_format_unavailable' && /asked for vhdx, which cannot be made from it/.test(err.message));
  });
});

describe('images presented in the formats a driver boots', () => {
  const fx = new ImageFixtures();
  let h: ImageHarness;
  before(async () => {
    fx.raw('disk.raw', 2 * MiB);
    fx.qemuImg('convert', '-f', 'raw', '-O', 'qcow2', 'disk.raw', 'disk.qcow2');
    fx.qemuImg('convert', '-f', 'raw', '-O', 'vmdk', 'disk.raw', 'disk.vmdk');
    h = await startImageApi({ inspectorsFor: diskInspectorsFor(configFromText('').config) });
  });
  after(async () => {
    await h.close();
    fx.close();
  });

  async function upload(body: Record<string, unknown>, file: string): Promise<string> {
    const img = await h.create('member-a', { container_format: 'bare', ...body });
    const id = String(img['id']);
    assert.equal((await h.call('member-a', 'PUT', `/image/v2/images/${id}/file`, fx.read(file), OCTET)).statusCode, 204);
    return id;
  }

  it('shows a qcow2 image to VMware as a streamOptimized VMDK, and a sparse VMDK to KVM as qcow2', async () => {
    const store = new FileImageStore(h.storeDir);
    const vmware = createImageProvider(h.handle.db, store, { formats: ['vmdk', 'raw', 'iso'] });
    const kvm = createImageProvider(h.handle.db, store, { formats: ['qcow2', 'raw'] });
    const signal = AbortSignal.timeout(30_000);

    const qcowId = await upload({ name: 'q', disk_format: 'qcow2', vmware_adaptertype: 'ide' }, 'disk.qcow2');
    const forVmware = await vmware.get(qcowId, signal);
    assert.equal(forVmware.diskFormat, 'vmdk');
    assert.equal(forVmware.properties['vmware_disktype'], 'streamOptimized');
    assert.equal(forVmware.virtualSize, 2 * MiB);
    await pipeline(await forVmware.open(null, signal), createWriteStream(fx.path('v.vmdk')));
    assert.equal(forVmware.size, fx.read('v.vmdk').length, 'the size is the variant\'s, known before streaming');
    assert.match(fx.qemuImg('info', '-f', 'vmdk', 'v.vmdk'), /create type: streamOptimized/);
    assert.equal((await kvm.get(qcowId, signal)).diskFormat, 'qcow2', 'KVM takes it as it is');

    const vmdkId = await upload({ name: 'v', disk_format: 'vmdk' }, 'disk.vmdk');
    const forKvm = await kvm.get(vmdkId, signal);
    assert.equal(forKvm.diskFormat, 'qcow2');
    assert.ok((forKvm.size ?? 0) > 0);
    await pipeline(await forKvm.open(null, signal), createWriteStream(fx.path('k.qcow2')));
    assert.match(fx.qemuImg('compare', '-f', 'qcow2', '-F', 'raw', 'k.qcow2', 'disk.raw'), /Images are identical/);
    assert.equal((await vmware.get(vmdkId, signal)).diskFormat, 'vmdk');

    const rawId = await upload({ name: 'r', disk_format: 'raw' }, 'disk.raw');
    assert.equal((await vmware.get(rawId, signal)).diskFormat, 'raw', 'no conversion when the driver boots the stored format');
  });
});
