import type { DetectedFormat, DiskInfo } from './disk-info.js';
import { ImageContentError } from './disk-info.js';
import type { FormatParser } from './format-parser.js';

/** Formats recognised by their magic so that a wrong disk_format is caught; not parsed further. */
export function sniffOtherFormat(prefix: Buffer): Exclude<DetectedFormat, 'raw' | 'qcow2' | 'vmdk' | 'iso'> | 'cowd' | undefined {
  const head = prefix.toString('latin1', 0, 8);
  if (head === 'conectix') return 'vhd';
  if (head === 'vhdxfile') return 'vhdx';
  if (head.startsWith('QED\0')) return 'qed';
  if (head.startsWith('LUKS\xba\xbe')) return 'luks';
  if (head.startsWith('COWD')) return 'cowd';
  if (prefix.length >= 0x44 && prefix.readUInt32LE(0x40) === 0xbeda107f) return 'vdi';
  return undefined;
}

const NAMES: Record<string, string> = { vhd: 'a VHD (dynamic) image', vhdx: 'a VHDX image', qed: 'a QED image', luks: 'a LUKS-encrypted volume', vdi: 'a VirtualBox VDI image' };

export class OtherFormatParser implements FormatParser {
  readonly #format: Exclude<DetectedFormat, 'raw' | 'qcow2' | 'vmdk' | 'iso'> | 'cowd';

  constructor(format: Exclude<DetectedFormat, 'raw' | 'qcow2' | 'vmdk' | 'iso'> | 'cowd') {
    this.#format = format;
  }

  start(): void {}

  finish(): DiskInfo {
    if (this.#format === 'cowd') {
      throw new ImageContentError('This is a vmfsSparse delta extent (COWD) of an ESX snapshot: its parent disk is not in this upload. Consolidate or clone the disk and upload the result.');
    }
    return { format: this.#format, virtualSize: undefined, description: NAMES[this.#format] ?? this.#format };
  }
}
