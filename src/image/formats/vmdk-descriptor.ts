import { ImageContentError, safeU64 } from './disk-info.js';

export interface VmdkExtent {
  readonly access: string;
  readonly sectors: number;
  readonly type: string;
  readonly file?: string;
  readonly offset: number;
}

export interface VmdkDescriptor {
  readonly createType: string;
  readonly parentCID?: string;
  readonly parentFileNameHint?: string;
  readonly extents: readonly VmdkExtent[];
  /** ddb.* entries, keys without the "ddb." prefix. */
  readonly ddb: ReadonlyMap<string, string>;
  /** Sum of the extents' sizes, in bytes. */
  readonly capacity: number;
}

/** The first line of every descriptor VMware and qemu-img write. */
export const DESCRIPTOR_SIGNATURE = '# Disk DescriptorFile';
/** Descriptors are a few hundred bytes; anything much larger is not one. */
export const MAX_DESCRIPTOR = 64 * 1024;

const EXTENT = /^(RW|RDONLY|NOACCESS)\s+(\d+)\s+(FLAT|SPARSE|ZERO|VMFS|VMFSSPARSE|VMFSRDM|VMFSRAW)(?:\s+"([^"]*)")?(?:\s+(\d+))?\s*$/;
const KEY_VALUE = /^([A-Za-z0-9_.]+)\s*=\s*(?:"([^"]*)"|(\S*))\s*$/;

/**
 * Parses the text descriptor of a VMDK (a separate file, or embedded in a sparse extent;
 * the embedded one is padded with NULs). Strict about what it understands, tolerant of
 * comments and blank lines, as VMware's own parser is.
 */
export function parseVmdkDescriptor(bytes: Buffer): VmdkDescriptor {
  const nul = bytes.indexOf(0);
  const text = (nul === -1 ? bytes : bytes.subarray(0, nul)).toString('latin1');
  if (/[^\t\n\r\x20-\x7e\x80-\xff]/.test(text)) throw new ImageContentError('The VMDK descriptor contains control characters: it is not a text descriptor.');
  let createType: string | undefined;
  let parentCID: string | undefined;
  let parentFileNameHint: string | undefined;
  const extents: VmdkExtent[] = [];
  const ddb = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const ext = EXTENT.exec(line);
    if (ext) {
      const sectors = safeU64(BigInt(ext[2] ?? '0'), 'VMDK extent size');
      extents.push({
        access: ext[1] ?? 'RW',
        sectors,
        type: ext[3] ?? 'FLAT',
        ...(ext[4] === undefined ? {} : { file: ext[4] }),
        offset: safeU64(BigInt(ext[5] ?? '0'), 'VMDK extent offset'),
      });
      continue;
    }
    const kv = KEY_VALUE.exec(line);
    if (!kv) throw new ImageContentError(`The VMDK descriptor has a line it cannot parse: "${line.slice(0, 80)}".`);
    const key = kv[1] ?? '';
    const value = kv[2] ?? kv[3] ?? '';
    if (key === 'createType') createType = value;
    else if (key === 'parentCID') parentCID = value;
    else if (key === 'parentFileNameHint') parentFileNameHint = value;
    else if (key.startsWith('ddb.')) ddb.set(key.slice(4), value);
  }
  if (createType === undefined) throw new ImageContentError('The VMDK descriptor has no createType line.');
  if (extents.length === 0 && createType !== 'custom') throw new ImageContentError(`The VMDK descriptor (createType ${createType}) lists no extents.`);
  const capacity = extents.reduce((sum, e) => sum + e.sectors * 512, 0);
  if (!Number.isSafeInteger(capacity)) throw new ImageContentError('The VMDK descriptor\'s extents add up to an impossible size.');
  return {
    createType,
    ...(parentCID === undefined ? {} : { parentCID }),
    ...(parentFileNameHint === undefined ? {} : { parentFileNameHint }),
    extents,
    ddb,
    capacity,
  };
}

/** A delta disk names its parent: it cannot be used alone (its data is partly elsewhere). */
export function descriptorParent(d: VmdkDescriptor): string | undefined {
  if (d.parentFileNameHint !== undefined && d.parentFileNameHint !== '') return d.parentFileNameHint;
  if (d.parentCID !== undefined && d.parentCID.toLowerCase() !== 'ffffffff') return `parent CID ${d.parentCID}`;
  return undefined;
}
