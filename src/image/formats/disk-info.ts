import { InvalidInputError } from '../../errors.js';

/** What an inspector learnt about an upload's content. */
export type DetectedFormat = 'raw' | 'qcow2' | 'vmdk' | 'iso' | 'vhd' | 'vhdx' | 'vdi' | 'qed' | 'luks';

/** VMDK createType values we recognise (VMware Virtual Disk Format 5.0, plus ESX's vmfs types). */
export type VmdkCreateType =
  | 'monolithicSparse'
  | 'streamOptimized'
  | 'monolithicFlat'
  | 'twoGbMaxExtentSparse'
  | 'twoGbMaxExtentFlat'
  | 'vmfs'
  | 'vmfsThin'
  | 'vmfsSparse'
  | 'vmfsPreallocated'
  | 'vmfsEagerZeroedThick'
  | 'vmfsRaw'
  | 'vmfsRDM'
  | 'vmfsRDMP'
  | 'fullDevice'
  | 'partitionedDevice'
  | 'custom';

export interface VmdkFacts {
  /** monolithicSparse, streamOptimized; for a descriptor-only upload its own createType. */
  readonly createType: string;
  /** ddb.adapterType as written in the file (ide, lsilogic, buslogic, lsisas1068, pvscsi, legacyESX). */
  readonly adapterType?: string;
  readonly hwVersion?: string;
}

export interface Qcow2Facts {
  readonly version: number;
  readonly clusterSize: number;
  readonly backingFile?: string;
  readonly dataFile?: string;
  readonly encrypted: boolean;
}

export interface DiskInfo {
  readonly format: DetectedFormat;
  /** Bytes the guest sees; undefined for formats we recognise but do not parse (vhd, vdi, ...). */
  readonly virtualSize: number | undefined;
  /** A short, human description used in messages: "VMDK monolithicSparse (ide), virtual size 64 MiB". */
  readonly description: string;
  readonly vmdk?: VmdkFacts;
  readonly qcow2?: Qcow2Facts;
}

/** The content is malformed, unsafe or lies about itself. */
export class ImageContentError extends InvalidInputError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message, details);
  }
}

export function sizeText(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1 && Number.isInteger(v / 1024)) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${bytes} bytes` : `${v} ${units[u] ?? ''}`;
}

/** A u64 from a header as a safe JS number, or an error naming the field. */
export function safeU64(value: bigint, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new ImageContentError(`${what} is ${value}, larger than any real disk: the header is corrupt or lying.`);
  return Number(value);
}
