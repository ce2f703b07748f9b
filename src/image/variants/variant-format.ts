import type { ConvertTarget, QemuFormat } from '../convert/qemu-img.js';
import { FLAT_DISK_TYPES, type DiskType } from '../formats/vmware-properties.js';

/** How a stored image reads with qemu-img: a flat VMDK extent and an ISO are raw bytes. */
export function qemuSourceFormat(diskFormat: string | null, properties: Readonly<Record<string, string>>): QemuFormat | undefined {
  switch (diskFormat) {
    case 'qcow2':
      return 'qcow2';
    case 'raw':
    case 'iso':
      return 'raw';
    case 'vmdk':
      return FLAT_DISK_TYPES.includes((properties['vmware_disktype'] ?? 'preallocated') as DiskType) ? 'raw' : 'vmdk';
    default:
      return undefined;
  }
}

/**
 * What a driver asking for `wanted` gets: the stored bytes (`same`) when they already are
 * that format, else the variant to produce. A VMDK variant is streamOptimized (compact; what
 * vSphere imports) with the image's vmware_adaptertype as its ddb.adapterType.
 */
export function variantFor(
  diskFormat: string | null,
  properties: Readonly<Record<string, string>>,
  wanted: string,
): { kind: 'same' } | { kind: 'convert'; target: ConvertTarget } | { kind: 'unavailable' } {
  const source = qemuSourceFormat(diskFormat, properties);
  if (wanted === diskFormat || (wanted === 'raw' && source === 'raw')) return { kind: 'same' };
  if (source === undefined) return { kind: 'unavailable' };
  if (wanted === 'raw' || wanted === 'qcow2') return { kind: 'convert', target: { format: wanted } };
  if (wanted === 'vmdk') return { kind: 'convert', target: { format: 'vmdk', subformat: 'streamOptimized', adapterType: properties['vmware_adaptertype'] ?? 'lsiLogic' } };
  return { kind: 'unavailable' };
}
