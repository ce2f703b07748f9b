import { ImageContentError, type DiskInfo } from './disk-info.js';
import {
  adapterFromDdb,
  busOf,
  DISK_TYPES,
  ADAPTER_TYPES,
  FLAT_DISK_TYPES,
  HYPERVISOR_TYPES,
  isAdapterType,
  isDiskType,
  isGuestId,
  parseBool,
  suggestGuestId,
  diskTypeFromCreateType,
  type DiskType,
} from './vmware-properties.js';

/** What the user declared about an image: its formats and free-form properties. */
export interface ImageClaims {
  readonly diskFormat: string | null;
  readonly containerFormat: string | null;
  readonly properties: Readonly<Record<string, string>>;
}

/**
 * The properties that describe VMware and hypervisor behaviour must hold values Nova and
 * vSphere understand; a typo here otherwise surfaces as a failed boot much later.
 */
export function checkPropertyValues(props: Readonly<Record<string, string>>): void {
  const disk = props['vmware_disktype'];
  if (disk !== undefined && !isDiskType(disk)) {
    throw new ImageContentError(`vmware_disktype "${disk}" is not one of ${DISK_TYPES.join(', ')}.`, { property: 'vmware_disktype' });
  }
  const adapter = props['vmware_adaptertype'];
  if (adapter !== undefined && !isAdapterType(adapter)) {
    const fixed = adapterFromDdb(adapter);
    throw new ImageContentError(
      `vmware_adaptertype "${adapter}" is not one of ${ADAPTER_TYPES.join(', ')}${fixed ? ` (the file's "${adapter}" is called ${fixed})` : ''}.`,
      { property: 'vmware_adaptertype' },
    );
  }
  const os = props['vmware_ostype'];
  if (os !== undefined && !isGuestId(os)) {
    const hint = suggestGuestId(os);
    throw new ImageContentError(
      `vmware_ostype "${os}" is not a vSphere guest ID${hint ? `: did you mean ${hint}?` : ' (for example ubuntu64Guest, rhel9_64Guest, windows2019srv_64Guest, otherLinux64Guest)'}; vCenter would refuse to create the VM.`,
      { property: 'vmware_ostype' },
    );
  }
  const hv = props['hypervisor_type'];
  if (hv !== undefined && !HYPERVISOR_TYPES.has(hv.toLowerCase())) {
    throw new ImageContentError(`hypervisor_type "${hv}" is not a hypervisor type (vmware, qemu, kvm, lxc, xen, hyperv, ironic, uml, ...).`, { property: 'hypervisor_type' });
  }
  for (const key of ['img_linked_clone', 'vmware_linked_clone']) {
    const v = props[key];
    if (v !== undefined && parseBool(v) === undefined) throw new ImageContentError(`${key} "${v}" is not a boolean (true or false).`, { property: key });
  }
}

const FORMAT_NAMES: Record<string, string> = { raw: 'raw', qcow2: 'qcow2', vmdk: 'vmdk', iso: 'iso', vhd: 'vhd', vhdx: 'vhdx', vdi: 'vdi', qed: 'qed', luks: 'luks' };

/**
 * Compares what the user claimed with what the file is. Returns the properties to fill in
 * (left out by the user, known from the file); throws, naming what the file really is and
 * which property to set, when a claim contradicts the content.
 */
export function reconcileWithContent(claims: ImageClaims, info: DiskInfo): Record<string, string> {
  checkPropertyValues(claims.properties);
  const fill: Record<string, string> = {};
  const declared = claims.diskFormat;
  const is = `The file is ${info.description}`;
  const props = claims.properties;

  if (declared === 'vmdk') {
    if (info.format === 'vmdk') {
      const createType = info.vmdk?.createType ?? '';
      const actual = diskTypeFromCreateType(createType);
      const claimed = props['vmware_disktype'];
      if (claimed !== undefined && actual !== undefined && claimed !== actual) {
        throw new ImageContentError(`${is}, but vmware_disktype is "${claimed}": set vmware_disktype=${actual} (createType ${createType}).`, { property: 'vmware_disktype' });
      }
      if (claimed === undefined && actual !== undefined) fill['vmware_disktype'] = actual;
      checkAdapter(props, info, is, fill);
    } else if (info.format === 'raw') {
      // A flat extent (the seeds' "-flat.vmdk") is raw sectors: a preallocated or thin disk.
      const claimed = props['vmware_disktype'];
      if (claimed !== undefined && !FLAT_DISK_TYPES.includes(claimed as DiskType)) {
        throw new ImageContentError(`${is}: a flat VMDK extent, not a ${claimed} VMDK (that would start with a KDMV header). Set vmware_disktype=preallocated (or thin), or upload the ${claimed} file itself.`, { property: 'vmware_disktype' });
      }
      if (claimed === undefined) fill['vmware_disktype'] = 'preallocated';
    } else {
      throw mismatch(is, declared, info.format);
    }
  } else if (declared === 'raw') {
    if (info.format !== 'raw' && info.format !== 'iso') throw mismatch(is, declared, info.format);
  } else if (declared === 'qcow2' || declared === 'iso' || declared === 'vhd' || declared === 'vhdx' || declared === 'vdi') {
    // vhd/vhdx/vdi are not parsed: their content is accepted when nothing else is recognised.
    const unparsed = declared === 'vhd' || declared === 'vhdx' || declared === 'vdi';
    if (info.format !== declared && !(unparsed && info.format === 'raw')) throw mismatch(is, declared, info.format);
  } else if (declared !== null && (info.format === 'qcow2' || info.format === 'vmdk')) {
    throw mismatch(is, declared, info.format);
  }
  if (declared !== 'vmdk' && info.format !== 'vmdk' && props['vmware_disktype'] !== undefined) {
    throw new ImageContentError(
      `${is}; vmware_disktype describes a VMDK file and this image is ${declared ?? 'not VMDK'}: remove vmware_disktype (Polyvisor makes the VMDK variant itself when a VMware host needs one).`,
      { property: 'vmware_disktype' },
    );
  }
  return fill;
}

function checkAdapter(props: Readonly<Record<string, string>>, info: DiskInfo, is: string, fill: Record<string, string>): void {
  const fromFile = adapterFromDdb(info.vmdk?.adapterType);
  if (fromFile === undefined) return;
  const claimed = props['vmware_adaptertype'];
  if (claimed === undefined) {
    fill['vmware_adaptertype'] = fromFile;
    return;
  }
  if (isAdapterType(claimed) && busOf(claimed) !== busOf(fromFile)) {
    throw new ImageContentError(
      `${is} (ddb.adapterType "${info.vmdk?.adapterType ?? ''}"), but vmware_adaptertype is "${claimed}": ${busOf(fromFile) === 'ide' ? 'an IDE' : 'a SCSI'} disk will not boot on ${busOf(claimed) === 'ide' ? 'an IDE' : 'a SCSI'} controller. Set vmware_adaptertype=${fromFile}.`,
      { property: 'vmware_adaptertype' },
    );
  }
}

function mismatch(is: string, declared: string, actual: string): ImageContentError {
  const name = FORMAT_NAMES[actual] ?? actual;
  return new ImageContentError(`${is}, not ${declared}: set disk_format=${name}.`, { property: 'disk_format', detected: actual });
}

/**
 * For PATCH on an image whose content was inspected (it carries `detected`, the
 * polyvisor_detected_format property): a changed vmware_disktype must still describe the file.
 */
export function checkDiskTypeAgainstDetected(detected: string | undefined, diskFormat: string | null, diskType: string | undefined): void {
  if (detected === undefined || diskType === undefined || diskFormat !== 'vmdk') return;
  const createType = detected.startsWith('vmdk/') ? detected.slice(5) : undefined;
  const actual = createType === undefined ? undefined : diskTypeFromCreateType(createType);
  if (actual !== undefined && diskType !== actual) {
    throw new ImageContentError(`The image's data is a VMDK ${createType ?? ''} disk: vmware_disktype must stay ${actual}.`, { property: 'vmware_disktype' });
  }
  if (detected === 'raw' && !FLAT_DISK_TYPES.includes(diskType as DiskType)) {
    throw new ImageContentError(`The image's data is a flat VMDK extent (raw sectors): vmware_disktype must be preallocated, thin or eagerZeroedThick, not ${diskType}.`, { property: 'vmware_disktype' });
  }
}

/**
 * For PATCH on an inspected VMDK image: a changed vmware_adaptertype must still be on the
 * bus of the file's own adapter (an IDE disk does not boot on a SCSI controller, nor the reverse).
 */
export function checkAdapterAgainstDetected(detected: string | undefined, claimed: string | undefined): void {
  if (detected === undefined || claimed === undefined || !isAdapterType(detected) || !isAdapterType(claimed)) return;
  if (busOf(detected) !== busOf(claimed)) {
    throw new ImageContentError(
      `The image's data is a VMDK disk whose ddb.adapterType is ${detected}: vmware_adaptertype "${claimed}" would put ${busOf(detected) === 'ide' ? 'an IDE' : 'a SCSI'} disk on ${busOf(claimed) === 'ide' ? 'an IDE' : 'a SCSI'} controller, which does not boot. Keep vmware_adaptertype=${detected} (or another ${busOf(detected) === 'ide' ? 'IDE' : 'SCSI'} adapter).`,
      { property: 'vmware_adaptertype' },
    );
  }
}
