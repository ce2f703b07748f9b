import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ImageContentError, inspectBuffer, type DiskInfo } from '../../../src/image/formats/index.js';
import { ImageFixtures, makeIso, withBombGrain } from './fixtures.js';

const MiB = 1024 * 1024;
const LIMITS = { maxVirtualSize: 4 * 1024 * MiB };

/** Inspects in uneven chunks, as the network delivers them, and once more in one piece. */
function inspect(data: Buffer, limits = LIMITS): DiskInfo {
  const a = inspectBuffer(data, limits, 4093);
  const b = inspectBuffer(data, limits, data.length || 1);
  assert.deepEqual(a, b, 'chunking must not change the result');
  return a;
}

function refused(data: Buffer, pattern: RegExp, limits = LIMITS): void {
  assert.throws(
    () => inspectBuffer(data, limits, 4093),
    (err: unknown) => err instanceof ImageContentError && pattern.test(err.message),
  );
}

describe('disk inspection of files made by qemu-img', () => {
  const fx = new ImageFixtures();
  before(() => {
    fx.raw('disk.raw', 8 * MiB);
    fx.raw('dense.raw', 4 * MiB, true);
    fx.qemuImg('convert', '-f', 'raw', '-O', 'qcow2', 'disk.raw', 'disk.qcow2');
    fx.qemuImg('create', '-f', 'qcow2', '-o', 'compat=0.10', 'v2.qcow2', '1G');
    // The seeds' conversion, verbatim but for the names.
    fx.qemuImg('convert', '-f', 'qcow2', 'disk.qcow2', '-O', 'vmdk', 'disk.vmdk');
    fx.qemuImg('convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=streamOptimized,adapter_type=lsilogic', 'disk.raw', 'stream.vmdk');
    fx.qemuImg('convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=streamOptimized', 'dense.raw', 'dense-stream.vmdk');
    fx.qemuImg('convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=monolithicFlat,adapter_type=lsilogic', 'disk.raw', 'thick.vmdk');
    fx.qemuImg('create', '-f', 'qcow2', '-b', 'disk.qcow2', '-F', 'qcow2', 'child.qcow2');
    fx.qemuImg('create', '-f', 'qcow2', '-o', `data_file=${fx.path('data.bin')}`, 'external.qcow2', '1M');
    fx.qemuImg('create', '-f', 'qcow2', '--object', 'secret,id=s0,data=pw', '-o', 'encrypt.format=aes,encrypt.key-secret=s0', 'aes.qcow2', '1M');
    fx.qemuImg('create', '-f', 'qcow2', 'huge.qcow2', '8G');
  });
  after(() => fx.close());

  it('reads qcow2 v3 and v2: format and virtual size', () => {
    const v3 = inspect(fx.read('disk.qcow2'));
    assert.equal(v3.format, 'qcow2');
    assert.equal(v3.virtualSize, 8 * MiB);
    assert.equal(v3.qcow2?.version, 3);
    const v2 = inspect(fx.read('v2.qcow2'));
    assert.equal(v2.qcow2?.version, 2);
    assert.equal(v2.virtualSize, 1024 * MiB);
  });

  it('finds that `qemu-img convert -O vmdk` writes monolithicSparse with an ide adapter, as the seeds say', () => {
    const info = inspect(fx.read('disk.vmdk'));
    assert.equal(info.format, 'vmdk');
    assert.equal(info.vmdk?.createType, 'monolithicSparse');
    assert.equal(info.vmdk?.adapterType, 'ide');
    assert.equal(info.virtualSize, 8 * MiB);
  });

  it('reads streamOptimized VMDKs (compressed grains, sparse and dense)', () => {
    const s = inspect(fx.read('stream.vmdk'));
    assert.equal(s.vmdk?.createType, 'streamOptimized');
    assert.equal(s.vmdk?.adapterType, 'lsilogic');
    assert.equal(s.virtualSize, 8 * MiB);
    const d = inspect(fx.read('dense-stream.vmdk'));
    assert.equal(d.vmdk?.createType, 'streamOptimized');
    assert.equal(d.virtualSize, 4 * MiB);
  });

  it('treats a -flat.vmdk extent as raw data and refuses its descriptor alone, saying what to upload', () => {
    const flat = inspect(fx.read('thick-flat.vmdk'));
    assert.equal(flat.format, 'raw');
    assert.equal(flat.virtualSize, 8 * MiB);
    refused(fx.read('thick.vmdk'), /VMDK descriptor file \(createType monolithicFlat, 8 MiB, adapter lsiLogic\).*"thick-flat\.vmdk" is outside this upload.*vmware_disktype=preallocated --property vmware_adaptertype=lsiLogic/);
  });

  it('refuses vmfs, vmfsThin and vmfsSparse descriptors, whose extents are other files', () => {
    const descriptor = (createType: string, extent: string, parent = 'ffffffff') =>
      Buffer.from(`# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=${parent}\ncreateType="${createType}"\n\n# Extent description\n${extent}\n\n# The Disk Data Base\n#DDB\n\nddb.adapterType = "lsilogic"\n`);
    refused(descriptor('vmfs', 'RW 16384 VMFS "web-flat.vmdk"'), /createType vmfs, 8 MiB, adapter lsiLogic.*VMFS extent "web-flat\.vmdk" is outside this upload.*vmware_disktype=preallocated/);
    refused(descriptor('vmfsThin', 'RW 16384 VMFS "web-flat.vmdk"'), /vmware_disktype=thin --property vmware_adaptertype=lsiLogic/);
    refused(descriptor('vmfsSparse', 'RW 16384 VMFSSPARSE "web-delta.vmdk"', '1234abcd'), /delta disk whose parent \(parent CID 1234abcd\)/);
  });

  it('reads ISO 9660 volume size and refuses disagreeing copies of it', () => {
    const iso = inspect(makeIso(40));
    assert.equal(iso.format, 'iso');
    assert.equal(iso.virtualSize, 40 * 2048);
    refused(makeIso(40, { lieBigEndian: true }), /little- and big-endian sizes disagree/);
    refused(makeIso(40).subarray(0, 30 * 2048), /ISO 9660 image is truncated/);
  });

  it('treats anything without a header as raw', () => {
    const info = inspect(fx.read('disk.raw'));
    assert.deepEqual([info.format, info.virtualSize], ['raw', 8 * MiB]);
    assert.equal(inspect(Buffer.alloc(0)).virtualSize, 0);
  });

  it('refuses qcow2 with a backing file, an external data file or encryption', () => {
    refused(fx.read('child.qcow2'), /backing file \("disk\.qcow2"\)/);
    refused(fx.read('external.qcow2'), /external data file/);
    refused(fx.read('aes.qcow2'), /encrypted \(AES\)/);
  });

  it('refuses virtual sizes over [image] max_virtual_size as soon as the header is read', () => {
    refused(fx.read('huge.qcow2'), /virtual size is 8 GiB, over the limit of 1 GiB \(\[image\] max_virtual_size\)/, { maxVirtualSize: 1024 * MiB });
    refused(fx.read('disk.vmdk'), /VMDK's virtual size is 8 MiB, over the limit of 4 MiB/, { maxVirtualSize: 4 * MiB });
    refused(makeIso(40), /volume is 80 KiB, over the limit/, { maxVirtualSize: 64 * 1024 });
  });

  it('refuses truncated files of every format', () => {
    const qcow = fx.read('disk.qcow2');
    refused(qcow.subarray(0, 100), /qcow2 image is truncated/);
    refused(qcow.subarray(0, 3 * 65536), /qcow2 image is truncated/);
    const sparse = fx.read('disk.vmdk');
    refused(sparse.subarray(0, sparse.length - 512), /VMDK is truncated or lying: its grain tables point to data up to byte/);
    refused(sparse.subarray(0, 1000), /VMDK is truncated/);
    const stream = fx.read('dense-stream.vmdk');
    refused(stream.subarray(0, stream.length - 700), /truncated/);
    refused(stream.subarray(0, Math.floor(stream.length / 2 / 512) * 512), /truncated/);
  });

  it('refuses lying headers', () => {
    const sparse = Buffer.from(fx.read('disk.vmdk'));
    sparse.writeBigUInt64LE(BigInt(32 * 2048), 12); // capacity 32 MiB, descriptor says 8
    refused(sparse, /header claims 32 MiB but its descriptor's extent is 8 MiB/);
    const qcow = Buffer.from(fx.read('disk.qcow2'));
    qcow.writeBigUInt64BE(BigInt(2048 * MiB), 24); // 2 GiB with a one-entry L1 table
    refused(qcow, /claims 2 GiB but its L1 table of 1 entries covers only 512 MiB: the header is lying/);
    const stream = Buffer.from(fx.read('stream.vmdk'));
    stream.write('monolithicSparse"', stream.indexOf('streamOptimized"'), 'latin1');
    refused(stream, /header says streamOptimized but its descriptor says createType "monolithicSparse/);
  });

  it('stops a decompression bomb after one grain of output', () => {
    const stream = fx.read('stream.vmdk');
    const bomb = withBombGrain(stream, 64 * MiB);
    refused(bomb, /decompresses to more than its 64 KiB grain: refused as a decompression bomb/);
    // Deflate expands at most ~1032:1, so bounding one grain's compressed size caps any bomb.
    const overhead = Number(bomb.readBigUInt64LE(64)) * 512;
    bomb.writeUInt32LE(10 * MiB, overhead + 8);
    refused(bomb, /claims 10485760 compressed bytes, more than a 64 KiB grain can need/);
  });
});
