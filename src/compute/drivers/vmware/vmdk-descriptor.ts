import { randomBytes } from 'node:crypto';

/** The ddb.adapterType a descriptor names for each vmware_adaptertype. */
const DDB_ADAPTER: Readonly<Record<string, string>> = {
  lsiLogic: 'lsilogic',
  lsiLogicsas: 'lsilogic',
  paraVirtual: 'lsilogic',
  busLogic: 'buslogic',
  ide: 'ide',
};

/**
 * The text descriptor of an ESX flat ("vmfs") disk whose data is `<name>-flat.vmdk`:
 * how a flat image becomes a datastore disk without any vSphere call (two HTTP PUTs).
 */
export function flatDescriptor(name: string, sizeBytes: number, adapterType: string): string {
  const sectors = Math.ceil(sizeBytes / 512);
  // Legacy geometry (255 heads × 63 sectors), as vmkfstools writes it.
  const cylinders = Math.max(1, Math.min(65535, Math.floor(sectors / (255 * 63))));
  const cid = randomBytes(4).toString('hex');
  return [
    '# Disk DescriptorFile',
    'version=1',
    'encoding="UTF-8"',
    `CID=${cid}`,
    'parentCID=ffffffff',
    'createType="vmfs"',
    '',
    '# Extent description',
    `RW ${sectors} VMFS "${name}-flat.vmdk"`,
    '',
    '# The Disk Data Base',
    '#DDB',
    '',
    `ddb.adapterType = "${DDB_ADAPTER[adapterType] ?? 'lsilogic'}"`,
    `ddb.geometry.cylinders = "${cylinders}"`,
    'ddb.geometry.heads = "255"',
    'ddb.geometry.sectors = "63"',
    'ddb.thinProvisioned = "1"',
    'ddb.virtualHWVersion = "10"',
    '',
  ].join('\n');
}

/** The capacity (bytes) a descriptor's extents add up to; undefined when it is not a descriptor. */
export function descriptorCapacity(text: string): number | undefined {
  if (!text.includes('# Disk DescriptorFile') && !/createType=/.test(text)) return undefined;
  let sectors = 0;
  for (const m of text.matchAll(/^(?:RW|RDONLY|NOACCESS)\s+(\d+)\s/gm)) sectors += Number(m[1]);
  return sectors * 512;
}
