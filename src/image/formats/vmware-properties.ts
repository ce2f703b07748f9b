import { GUEST_IDS as VSPHERE_GUEST_IDS } from '../../vsphere/types/guest-ids.js';

/** vmware_disktype values (Nova's vmwareapi constants; the seeds' table plus eagerZeroedThick). */
export const DISK_TYPES = ['sparse', 'thin', 'preallocated', 'eagerZeroedThick', 'streamOptimized'] as const;
export type DiskType = (typeof DISK_TYPES)[number];
/** Disk types whose image bytes are a flat extent: raw sectors, nothing else. */
export const FLAT_DISK_TYPES: readonly DiskType[] = ['thin', 'preallocated', 'eagerZeroedThick'];

/** vmware_adaptertype values; lsiLogic is the default when none is set. */
export const ADAPTER_TYPES = ['lsiLogic', 'busLogic', 'lsiLogicsas', 'paraVirtual', 'ide'] as const;
export type AdapterType = (typeof ADAPTER_TYPES)[number];
export const DEFAULT_ADAPTER: AdapterType = 'lsiLogic';

/** hypervisor_type values Nova's ImagePropertiesFilter knows (obj_fields.HVType), with its aliases. */
export const HYPERVISOR_TYPES: ReadonlySet<string> = new Set([
  'baremetal', 'bhyve', 'docker', 'fake', 'hyperv', 'ironic', 'kqemu', 'kvm', 'lxc', 'lxd', 'openvz', 'parallels',
  'virtuozzo', 'phyp', 'powervm', 'qemu', 'test', 'uml', 'vmware', 'xen', 'zvm', 'xapi', 'hyper-v',
]);

/** Boolean spellings oslo's strutils.bool_from_string accepts (img_linked_clone, vmware_linked_clone). */
const TRUE_STRINGS = new Set(['1', 't', 'true', 'on', 'y', 'yes']);
const FALSE_STRINGS = new Set(['0', 'f', 'false', 'off', 'n', 'no']);

export function parseBool(value: string): boolean | undefined {
  const v = value.trim().toLowerCase();
  if (TRUE_STRINGS.has(v)) return true;
  if (FALSE_STRINGS.has(v)) return false;
  return undefined;
}

/** ddb.adapterType as VMware and qemu-img write it → the vmware_adaptertype naming it. */
const DDB_ADAPTERS: Readonly<Record<string, AdapterType>> = {
  ide: 'ide',
  lsilogic: 'lsiLogic',
  buslogic: 'busLogic',
  legacyesx: 'busLogic',
  lsisas1068: 'lsiLogicsas',
  lsilogicsas: 'lsiLogicsas',
  pvscsi: 'paraVirtual',
  paravirtual: 'paraVirtual',
};

export function adapterFromDdb(ddb: string | undefined): AdapterType | undefined {
  return ddb === undefined ? undefined : DDB_ADAPTERS[ddb.toLowerCase()];
}

/** IDE and SCSI disks are not interchangeable at boot; SCSI flavours mostly are. */
export function busOf(adapter: AdapterType): 'ide' | 'scsi' {
  return adapter === 'ide' ? 'ide' : 'scsi';
}

/** A VMDK createType → the vmware_disktype that describes it. */
export function diskTypeFromCreateType(createType: string): DiskType | undefined {
  switch (createType) {
    case 'monolithicSparse':
    case 'twoGbMaxExtentSparse':
    case 'vmfsSparse':
      return 'sparse';
    case 'streamOptimized':
      return 'streamOptimized';
    case 'vmfsThin':
      return 'thin';
    case 'vmfsEagerZeroedThick':
      return 'eagerZeroedThick';
    case 'monolithicFlat':
    case 'twoGbMaxExtentFlat':
    case 'vmfs':
    case 'vmfsPreallocated':
      return 'preallocated';
    default:
      return undefined;
  }
}

export function isDiskType(v: string): v is DiskType {
  return (DISK_TYPES as readonly string[]).includes(v);
}

export function isAdapterType(v: string): v is AdapterType {
  return (ADAPTER_TYPES as readonly string[]).includes(v);
}

export function isGuestId(v: string): boolean {
  return VSPHERE_GUEST_IDS.has(v);
}

/** The guest ID a near miss probably meant (case or a missing "Guest" suffix), for messages. */
export function suggestGuestId(v: string): string | undefined {
  const lower = v.toLowerCase();
  for (const id of VSPHERE_GUEST_IDS) {
    const l = id.toLowerCase();
    if (l === lower || l === `${lower}guest` || l === lower.replace(/guest$/, '') + 'guest') return id;
  }
  return undefined;
}
