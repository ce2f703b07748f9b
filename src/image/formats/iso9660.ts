import { ImageContentError, sizeText, type DiskInfo } from './disk-info.js';
import type { FormatParser, ParseLimits } from './format-parser.js';
import type { RangeReader } from './range-reader.js';

/** The primary volume descriptor sits in sector 16 of 2048-byte sectors. */
export const ISO_PVD_OFFSET = 16 * 2048;

export function looksLikeIso(prefix: Buffer): boolean {
  return prefix.length >= ISO_PVD_OFFSET + 6 && prefix.toString('latin1', ISO_PVD_OFFSET + 1, ISO_PVD_OFFSET + 6) === 'CD001';
}

/**
 * ISO 9660: the volume size comes from the primary volume descriptor, whose numbers are
 * written twice (little- and big-endian); the two copies must agree and the volume must
 * fit in the upload.
 */
export class Iso9660Parser implements FormatParser {
  readonly #limits: ParseLimits;
  #volumeBytes: number | undefined;

  constructor(limits: ParseLimits) {
    this.#limits = limits;
  }

  start(reader: RangeReader): void {
    reader.want(ISO_PVD_OFFSET, 2048, (pvd) => {
      if (pvd[0] !== 1 || pvd.toString('latin1', 1, 6) !== 'CD001') {
        throw new ImageContentError('The ISO 9660 image does not start with a primary volume descriptor.');
      }
      const blocksLe = pvd.readUInt32LE(80);
      const blocksBe = pvd.readUInt32BE(84);
      const blockLe = pvd.readUInt16LE(128);
      const blockBe = pvd.readUInt16BE(130);
      if (blocksLe !== blocksBe || blockLe !== blockBe) throw new ImageContentError('The ISO 9660 volume descriptor\'s little- and big-endian sizes disagree: the header is corrupt or lying.');
      if (blockLe !== 512 && blockLe !== 1024 && blockLe !== 2048) throw new ImageContentError(`ISO 9660 logical block size ${blockLe} is not 512, 1024 or 2048.`);
      const bytes = blocksLe * blockLe;
      if (bytes > this.#limits.maxVirtualSize) throw new ImageContentError(`The ISO's volume is ${sizeText(bytes)}, over the limit of ${sizeText(this.#limits.maxVirtualSize)} ([image] max_virtual_size).`);
      this.#volumeBytes = bytes;
    });
  }

  finish(totalSize: number): DiskInfo {
    const bytes = this.#volumeBytes;
    if (bytes === undefined) throw new ImageContentError(`The ISO 9660 image is truncated: it ends at byte ${totalSize}, before its volume descriptor is complete.`);
    if (bytes > totalSize) throw new ImageContentError(`The ISO 9660 image is truncated: its volume is ${bytes} bytes but the upload is ${totalSize}.`);
    return { format: 'iso', virtualSize: bytes, description: `an ISO 9660 image, volume size ${sizeText(bytes)}` };
  }
}
