import { sizeText, type DiskInfo } from './disk-info.js';
import type { FormatParser } from './format-parser.js';

/** Anything without a known header: the guest sees the bytes as they are. */
export class RawParser implements FormatParser {
  start(): void {}

  finish(totalSize: number): DiskInfo {
    return { format: 'raw', virtualSize: totalSize, description: `raw data (no disk-image header), ${sizeText(totalSize)}` };
  }
}
