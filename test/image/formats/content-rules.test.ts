import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ImageContentError, reconcileWithContent, type DiskInfo } from '../../../src/image/formats/index.js';

const MiB = 1024 * 1024;
const sparseIde: DiskInfo = { format: 'vmdk', virtualSize: 8 * MiB, description: 'a VMDK monolithicSparse disk with adapter type ide, virtual size 8 MiB', vmdk: { createType: 'monolithicSparse', adapterType: 'ide' } };
const streamLsi: DiskInfo = { format: 'vmdk', virtualSize: 8 * MiB, description: 'a VMDK streamOptimized disk with adapter type lsilogic, virtual size 8 MiB', vmdk: { createType: 'streamOptimized', adapterType: 'lsilogic' } };
const qcow: DiskInfo = { format: 'qcow2', virtualSize: 8 * MiB, description: 'a qcow2 (version 3) image, virtual size 8 MiB' };
const raw: DiskInfo = { format: 'raw', virtualSize: 8 * MiB, description: 'raw data (no disk-image header), 8 MiB' };
const iso: DiskInfo = { format: 'iso', virtualSize: 8 * MiB, description: 'an ISO 9660 image, volume size 8 MiB' };

const claims = (diskFormat: string, properties: Record<string, string> = {}) => ({ diskFormat, containerFormat: 'bare', properties });

function refusedWith(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof ImageContentError && pattern.test(err.message));
}

describe('image properties checked against content', () => {
  it('fills in vmware_disktype from createType and vmware_adaptertype from ddb.adapterType', () => {
    assert.deepEqual(reconcileWithContent(claims('vmdk'), sparseIde), { vmware_disktype: 'sparse', vmware_adaptertype: 'ide' });
    assert.deepEqual(reconcileWithContent(claims('vmdk'), streamLsi), { vmware_disktype: 'streamOptimized', vmware_adaptertype: 'lsiLogic' });
    assert.deepEqual(reconcileWithContent(claims('vmdk', { vmware_disktype: 'sparse', vmware_adaptertype: 'ide' }), sparseIde), {});
    assert.deepEqual(reconcileWithContent(claims('vmdk'), raw), { vmware_disktype: 'preallocated' }, 'a flat extent is preallocated');
    assert.deepEqual(reconcileWithContent(claims('vmdk', { vmware_disktype: 'thin' }), raw), {});
  });

  it('refuses lsiLogic claimed on an ide disk, and ide on a SCSI disk', () => {
    refusedWith(() => reconcileWithContent(claims('vmdk', { vmware_adaptertype: 'lsiLogic' }), sparseIde), /ddb.adapterType "ide"\), but vmware_adaptertype is "lsiLogic": an IDE disk will not boot on a SCSI controller. Set vmware_adaptertype=ide/);
    refusedWith(() => reconcileWithContent(claims('vmdk', { vmware_adaptertype: 'ide' }), streamLsi), /a SCSI disk will not boot on an IDE controller. Set vmware_adaptertype=lsiLogic/);
    assert.deepEqual(reconcileWithContent(claims('vmdk', { vmware_adaptertype: 'paraVirtual' }), streamLsi), { vmware_disktype: 'streamOptimized' }, 'SCSI flavours are the user\'s choice');
  });

  it('refuses sparse claimed on a streamOptimized file and on a flat extent', () => {
    refusedWith(() => reconcileWithContent(claims('vmdk', { vmware_disktype: 'sparse' }), streamLsi), /The file is a VMDK streamOptimized disk.*but vmware_disktype is "sparse": set vmware_disktype=streamOptimized/);
    refusedWith(() => reconcileWithContent(claims('vmdk', { vmware_disktype: 'sparse' }), raw), /a flat VMDK extent, not a sparse VMDK.*Set vmware_disktype=preallocated/);
  });

  it('refuses a disk_format that contradicts the content, naming the right one', () => {
    refusedWith(() => reconcileWithContent(claims('vmdk'), qcow), /The file is a qcow2 \(version 3\) image, virtual size 8 MiB, not vmdk: set disk_format=qcow2/);
    refusedWith(() => reconcileWithContent(claims('raw'), qcow), /not raw: set disk_format=qcow2/);
    refusedWith(() => reconcileWithContent(claims('qcow2'), sparseIde), /not qcow2: set disk_format=vmdk/);
    refusedWith(() => reconcileWithContent(claims('qcow2'), raw), /raw data .* not qcow2: set disk_format=raw/);
    refusedWith(() => reconcileWithContent(claims('iso'), raw), /set disk_format=raw/);
    refusedWith(() => reconcileWithContent(claims('vhd'), qcow), /set disk_format=qcow2/);
    assert.deepEqual(reconcileWithContent(claims('raw'), iso), {});
    assert.deepEqual(reconcileWithContent(claims('iso'), iso), {});
  });

  it('refuses unknown guest IDs, adapter and disk types, hypervisor types and non-boolean linked-clone flags', () => {
    refusedWith(() => reconcileWithContent(claims('vmdk', { vmware_ostype: 'ubuntu64guest' }), sparseIde), /vmware_ostype "ubuntu64guest" is not a vSphere guest ID: did you mean ubuntu64Guest\?/);
    refusedWith(() => reconcileWithContent(claims('vmdk', { vmware_ostype: 'plan9' }), sparseIde), /not a vSphere guest ID \(for example ubuntu64Guest/);
    refusedWith(() => reconcileWithContent(claims('vmdk', { vmware_adaptertype: 'lsilogic' }), sparseIde), /vmware_adaptertype "lsilogic" is not one of lsiLogic, busLogic, lsiLogicsas, paraVirtual, ide \(the file's "lsilogic" is called lsiLogic\)/);
    refusedWith(() => reconcileWithContent(claims('vmdk', { vmware_disktype: 'thick' }), sparseIde), /vmware_disktype "thick" is not one of/);
    refusedWith(() => reconcileWithContent(claims('qcow2', { hypervisor_type: 'esxi' }), qcow), /hypervisor_type "esxi" is not a hypervisor type/);
    refusedWith(() => reconcileWithContent(claims('qcow2', { img_linked_clone: 'maybe' }), qcow), /img_linked_clone "maybe" is not a boolean/);
    refusedWith(() => reconcileWithContent(claims('qcow2', { vmware_linked_clone: 'sometimes' }), qcow), /vmware_linked_clone "sometimes" is not a boolean/);
    for (const id of ['ubuntu64Guest', 'windows9Server64Guest', 'rhel9_64Guest', 'otherGuest64', 'winNetStandardGuest']) {
      assert.deepEqual(reconcileWithContent(claims('qcow2', { vmware_ostype: id, hypervisor_type: 'vmware', img_linked_clone: 'False' }), qcow), {});
    }
  });

  it('refuses vmware_disktype on an image that is not VMDK', () => {
    refusedWith(() => reconcileWithContent(claims('qcow2', { vmware_disktype: 'sparse' }), qcow), /vmware_disktype describes a VMDK file and this image is qcow2: remove vmware_disktype/);
  });
});
