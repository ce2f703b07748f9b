import { inflateSync } from 'node:zlib';
import { ImageContentError, safeU64, sizeText, type DiskInfo } from './disk-info.js';
import type { FormatParser, ParseLimits } from './format-parser.js';
import type { RangeReader } from './range-reader.js';
import { descriptorParent, parseVmdkDescriptor, type VmdkDescriptor } from './vmdk-descriptor.js';

export const VMDK_MAGIC = 0x564d444b; // "KDMV" little-endian
const SECTOR = 512;
const FLAG_NEWLINE_TEST = 1 << 0;
const FLAG_COMPRESSED = 1 << 16;
const FLAG_MARKERS = 1 << 17;
const GD_AT_END = 0xffffffffffffffffn;
const MAX_DESCRIPTOR_SECTORS = 2048;
const MAX_GRAIN_SECTORS = 2048; // 1 MiB grains; VMware writes 64 KiB
const MARKER_EOS = 0;
const MARKER_GT = 1;
const MARKER_GD = 2;
const MARKER_FOOTER = 3;

export interface SparseHeader {
  readonly version: number;
  readonly flags: number;
  readonly capacitySectors: number;
  readonly grainSectors: number;
  readonly descriptorOffset: number;
  readonly descriptorSectors: number;
  readonly gtesPerGt: number;
  readonly rgdOffset: bigint;
  readonly gdOffset: bigint;
  readonly overheadSectors: number;
  readonly compressAlgorithm: number;
}

/** The 512-byte SparseExtentHeader (VMware Virtual Disk Format 5.0, section "Hosted Sparse Extent Header"). */
export function parseSparseHeader(b: Buffer): SparseHeader {
  if (b.length < SECTOR || b.readUInt32LE(0) !== VMDK_MAGIC) throw new ImageContentError('Not a VMDK sparse extent: the KDMV magic number is missing.');
  const version = b.readUInt32LE(4);
  if (version < 1 || version > 3) throw new ImageContentError(`VMDK sparse header version ${version} is not one VMware defines (1, 2 or 3).`);
  const flags = b.readUInt32LE(8);
  if ((flags & FLAG_NEWLINE_TEST) !== 0 && (b[73] !== 0x0a || b[74] !== 0x20 || b[75] !== 0x0d || b[76] !== 0x0a)) {
    throw new ImageContentError('The VMDK header\'s newline test bytes are altered: the file was transferred in text mode and is corrupt.');
  }
  const h: SparseHeader = {
    version,
    flags,
    capacitySectors: safeU64(b.readBigUInt64LE(12), 'VMDK capacity'),
    grainSectors: safeU64(b.readBigUInt64LE(20), 'VMDK grain size'),
    descriptorOffset: safeU64(b.readBigUInt64LE(28), 'VMDK descriptor offset'),
    descriptorSectors: safeU64(b.readBigUInt64LE(36), 'VMDK descriptor size'),
    gtesPerGt: b.readUInt32LE(44),
    rgdOffset: b.readBigUInt64LE(48),
    gdOffset: b.readBigUInt64LE(56),
    overheadSectors: safeU64(b.readBigUInt64LE(64), 'VMDK overhead'),
    compressAlgorithm: b.readUInt16LE(77),
  };
  const g = h.grainSectors;
  if (g < 1 || g > MAX_GRAIN_SECTORS || (g & (g - 1)) !== 0) throw new ImageContentError(`VMDK grain size of ${g} sectors is not a power of two between 1 and ${MAX_GRAIN_SECTORS}.`);
  if (h.gtesPerGt < 1 || h.gtesPerGt > 4096) throw new ImageContentError(`VMDK header claims ${h.gtesPerGt} entries per grain table (VMware uses 512).`);
  if (h.descriptorSectors > MAX_DESCRIPTOR_SECTORS) throw new ImageContentError(`VMDK embedded descriptor of ${h.descriptorSectors} sectors is implausibly large.`);
  if (h.descriptorSectors > 0 && h.descriptorOffset < 1) throw new ImageContentError('VMDK descriptor offset points into the header.');
  if ((flags & FLAG_COMPRESSED) !== 0 && h.compressAlgorithm !== 1) throw new ImageContentError(`VMDK compression algorithm ${h.compressAlgorithm} is unknown (only deflate, 1, exists).`);
  return h;
}

/**
 * monolithicSparse and streamOptimized VMDK, in one pass. Reads the header and embedded
 * descriptor, then either follows the grain directory and tables (hosted sparse: checks
 * every allocated grain lies inside the upload) or walks the stream markers (every
 * compressed grain is inflated with a hard output bound, so a decompression bomb is caught
 * after at most one grain's worth of output).
 */
export class VmdkSparseParser implements FormatParser {
  readonly #limits: ParseLimits;
  #header: SparseHeader | undefined;
  #descriptor: VmdkDescriptor | undefined;
  #streamOptimized = false;
  #eosEnd: number | undefined;
  #maxGrainEnd = 0; // bytes
  #gdSeen = false;
  #grains = 0;
  #tablesUpFront = false;

  constructor(limits: ParseLimits) {
    this.#limits = limits;
  }

  start(reader: RangeReader): void {
    reader.want(0, SECTOR, (b) => this.#onHeader(b, reader));
  }

  #onHeader(b: Buffer, reader: RangeReader): void {
    const h = parseSparseHeader(b);
    this.#header = h;
    const capacity = h.capacitySectors * SECTOR;
    if (capacity > this.#limits.maxVirtualSize) {
      throw new ImageContentError(`The VMDK's virtual size is ${sizeText(capacity)}, over the limit of ${sizeText(this.#limits.maxVirtualSize)} ([image] max_virtual_size).`);
    }
    this.#streamOptimized = (h.flags & FLAG_MARKERS) !== 0;
    if (this.#streamOptimized && (h.flags & FLAG_COMPRESSED) === 0) throw new ImageContentError('VMDK header has stream markers without compressed grains: not a valid streamOptimized disk.');
    if (h.descriptorSectors === 0) throw new ImageContentError('VMDK sparse extent without an embedded descriptor: it is an extent of a multi-file disk, not a whole disk.');
    if (h.overheadSectors < h.descriptorOffset + h.descriptorSectors) throw new ImageContentError('VMDK header puts grain data before the end of its own descriptor.');
    reader.want(h.descriptorOffset * SECTOR, h.descriptorSectors * SECTOR, (d) => this.#onDescriptor(d));
    if (this.#streamOptimized) {
      reader.want(h.overheadSectors * SECTOR, SECTOR, (m) => this.#onMarker(h.overheadSectors * SECTOR, m, reader));
      // qemu-img keeps the tables of a streamOptimized disk up front (VMware puts them at the
      // end, GD_AT_END): when they are up front, they bound the grains the stream must hold.
      if (h.gdOffset !== GD_AT_END && h.gdOffset !== 0n) {
        this.#tablesUpFront = true;
        this.#wantDirectory(h, h.gdOffset, reader);
        if (h.rgdOffset !== 0n && h.rgdOffset !== GD_AT_END) this.#wantDirectory(h, h.rgdOffset, reader);
      }
    } else {
      if (h.gdOffset === GD_AT_END || h.gdOffset === 0n) throw new ImageContentError('VMDK monolithicSparse header has no grain directory offset.');
      this.#wantDirectory(h, h.gdOffset, reader);
    }
  }

  #wantDirectory(h: SparseHeader, sector: bigint, reader: RangeReader): void {
    const offset = safeU64(sector, 'VMDK grain directory offset') * SECTOR;
    const tables = Math.ceil(h.capacitySectors / (h.grainSectors * h.gtesPerGt));
    if (tables * 4 > 4 * 1024 * 1024) throw new ImageContentError(`VMDK grain directory of ${tables} tables is too large to check.`);
    if (offset < SECTOR) throw new ImageContentError('VMDK grain directory lies inside the header.');
    reader.want(offset, tables * 4, (gd) => this.#onGrainDirectory(gd, reader));
  }

  #onDescriptor(d: Buffer): void {
    const desc = parseVmdkDescriptor(d);
    const h = this.#header;
    if (!h) return;
    const parent = descriptorParent(desc);
    if (parent !== undefined) throw new ImageContentError(`This VMDK is a delta disk of ${parent}: its data is partly in another file. Upload a standalone disk (qemu-img convert -O vmdk flattens it).`);
    const expected = this.#streamOptimized ? 'streamOptimized' : 'monolithicSparse';
    if (desc.createType !== expected) {
      throw new ImageContentError(
        `The VMDK's header says ${expected} but its descriptor says createType "${desc.createType}": ${desc.createType === 'twoGbMaxExtentSparse' ? 'a split disk whose extents are other files outside this upload' : 'the header is lying'}.`,
      );
    }
    const outside = desc.extents.filter((e) => e.type !== 'SPARSE');
    if (desc.extents.length !== 1 || outside.length > 0) {
      const names = desc.extents.map((e) => `${e.type} "${e.file ?? ''}"`).join(', ');
      throw new ImageContentError(`The VMDK descriptor lists ${desc.extents.length} extents (${names}); only a single embedded SPARSE extent is inside this upload.`);
    }
    if (desc.capacity !== h.capacitySectors * SECTOR) {
      throw new ImageContentError(`The VMDK header claims ${sizeText(h.capacitySectors * SECTOR)} but its descriptor's extent is ${sizeText(desc.capacity)}: the header is lying.`);
    }
    this.#descriptor = desc;
  }

  #onGrainDirectory(gd: Buffer, reader: RangeReader): void {
    const h = this.#header;
    if (!h) return;
    this.#gdSeen = true;
    const gtBytes = h.gtesPerGt * 4;
    for (let i = 0; i < gd.length; i += 4) {
      const sector = gd.readUInt32LE(i);
      if (sector === 0) continue;
      const offset = sector * SECTOR;
      this.#maxGrainEnd = Math.max(this.#maxGrainEnd, offset + gtBytes);
      // A table already streamed past (before the directory) can only be bounds-checked.
      reader.want(offset, gtBytes, (gt) => this.#onGrainTable(gt));
    }
  }

  #onGrainTable(gt: Buffer): void {
    const h = this.#header;
    if (!h) return;
    for (let i = 0; i < gt.length; i += 4) {
      const sector = gt.readUInt32LE(i);
      if (sector <= 1) continue; // 0 unallocated, 1 zeroed grain
      if (sector < h.overheadSectors) throw new ImageContentError(`VMDK grain table points a grain at sector ${sector}, inside the metadata (which ends at sector ${h.overheadSectors}).`);
      this.#grains++;
      this.#maxGrainEnd = Math.max(this.#maxGrainEnd, (sector + h.grainSectors) * SECTOR);
    }
  }

  #onMarker(at: number, m: Buffer, reader: RangeReader): void {
    const h = this.#header;
    if (!h) return;
    const value = m.readBigUInt64LE(0);
    const size = m.readUInt32LE(8);
    if (size > 0) {
      const grainBytes = h.grainSectors * SECTOR;
      if (size > grainBytes + 4096) throw new ImageContentError(`VMDK grain marker at byte ${at} claims ${size} compressed bytes, more than a ${sizeText(grainBytes)} grain can need.`);
      const lba = safeU64(value, 'VMDK grain LBA');
      if (lba % h.grainSectors !== 0 || lba >= h.capacitySectors) {
        throw new ImageContentError(`VMDK grain marker at byte ${at} addresses sector ${lba}, ${lba >= h.capacitySectors ? 'beyond the disk\'s capacity' : 'not on a grain boundary'}.`);
      }
      const total = Math.ceil((12 + size) / SECTOR) * SECTOR;
      const inflate = (data: Buffer): void => {
        this.#inflateGrain(data, lba, grainBytes, at);
        this.#grains++;
        reader.want(at + total, SECTOR, (next) => this.#onMarker(at + total, next, reader));
      };
      if (total === SECTOR) inflate(m.subarray(12, 12 + size));
      else {
        const head = Buffer.from(m.subarray(12)); // `m` may be a view of a chunk that is gone by then
        reader.want(at + SECTOR, total - SECTOR, (rest) => inflate(Buffer.concat([head, rest], size)));
      }
      return;
    }
    const type = m.readUInt32LE(12);
    const sectors = safeU64(value, 'VMDK metadata marker length');
    if (type === MARKER_EOS) {
      // An all-zero sector is an end-of-stream marker. qemu-img writes no explicit one: its
      // file just ends in zero padding. What follows the end must be zeros too.
      if (sectors !== 0) throw new ImageContentError(`VMDK end-of-stream marker at byte ${at} claims ${sectors} sectors of data.`);
      this.#eosEnd ??= at + SECTOR;
      if (m.some((x) => x !== 0)) throw new ImageContentError(`VMDK end-of-stream marker at byte ${at} is followed by data in its own sector.`);
      reader.want(at + SECTOR, SECTOR, (next) => this.#onMarker(at + SECTOR, next, reader));
      return;
    }
    if (this.#eosEnd !== undefined) throw new ImageContentError(`The streamOptimized VMDK has data after its end-of-stream marker (byte ${at}).`);
    if (type === MARKER_GT || type === MARKER_GD) {
      if (sectors * SECTOR > 4 * 1024 * 1024) throw new ImageContentError(`VMDK ${type === MARKER_GT ? 'grain table' : 'grain directory'} marker at byte ${at} claims ${sectors} sectors.`);
      const next = at + SECTOR + sectors * SECTOR;
      reader.want(next, SECTOR, (n) => this.#onMarker(next, n, reader));
      return;
    }
    if (type === MARKER_FOOTER) {
      if (sectors !== 1) throw new ImageContentError(`VMDK footer marker at byte ${at} claims ${sectors} sectors (a footer is one).`);
      reader.want(at + SECTOR, SECTOR, (footer) => {
        const f = parseSparseHeader(footer);
        if (f.capacitySectors !== h.capacitySectors || f.grainSectors !== h.grainSectors) {
          throw new ImageContentError(`The VMDK footer claims ${sizeText(f.capacitySectors * SECTOR)} where the header claimed ${sizeText(h.capacitySectors * SECTOR)}: one of them is lying.`);
        }
        reader.want(at + 2 * SECTOR, SECTOR, (n) => this.#onMarker(at + 2 * SECTOR, n, reader));
      });
      return;
    }
    throw new ImageContentError(`VMDK stream marker of unknown type ${type} at byte ${at}.`);
  }

  /** Bounded inflate: output beyond one grain stops decompression at once. */
  #inflateGrain(data: Buffer, lba: number, grainBytes: number, at: number): void {
    let out: Buffer;
    try {
      // One output buffer of a grain's size rather than 16 KiB pieces concatenated. (Asking
      // for the engine with `info` to close it early leaked native memory on refused grains.)
      out = inflateSync(data, { maxOutputLength: grainBytes, chunkSize: Math.max(grainBytes, 1024) });
    } catch (err) {
      const bomb = err instanceof RangeError || (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
      throw new ImageContentError(
        bomb
          ? `VMDK grain at sector ${lba} (byte ${at}) decompresses to more than its ${sizeText(grainBytes)} grain: refused as a decompression bomb.`
          : `VMDK compressed grain at sector ${lba} (byte ${at}) is corrupt: it does not inflate.`,
      );
    }
    if (out.length === 0) throw new ImageContentError(`VMDK compressed grain at sector ${lba} (byte ${at}) inflates to nothing.`);
  }

  finish(totalSize: number, reader: RangeReader): DiskInfo {
    const h = this.#header;
    let missing = reader.firstOutstanding();
    // A stream may end right where its next marker would start: after the end-of-stream
    // marker (and its zero padding), or, for an empty disk written by qemu-img, at the very first marker.
    if (h && this.#streamOptimized && missing?.offset === totalSize && reader.outstanding === 1 && totalSize % SECTOR === 0) {
      if (this.#eosEnd === undefined && (this.#tablesUpFront || (this.#grains === 0 && totalSize === h.overheadSectors * SECTOR))) this.#eosEnd = totalSize;
      if (this.#eosEnd !== undefined) missing = undefined;
    }
    if (!h || missing) {
      throw new ImageContentError(`The VMDK is truncated: it ends at byte ${totalSize}, but its ${h ? 'structure' : 'header'} continues at byte ${missing?.offset ?? 0}.`);
    }
    const desc = this.#descriptor;
    if (!desc) throw new ImageContentError('The VMDK is truncated before its embedded descriptor.');
    if (this.#streamOptimized) {
      if (this.#eosEnd === undefined) throw new ImageContentError('The streamOptimized VMDK ends without its end-of-stream marker: it is truncated.');
    }
    if (!this.#streamOptimized && !this.#gdSeen) throw new ImageContentError('The VMDK is truncated before its grain directory.');
    {
      if (this.#maxGrainEnd > totalSize) {
        throw new ImageContentError(`The VMDK is truncated or lying: its grain tables point to data up to byte ${this.#maxGrainEnd}, but the upload is ${totalSize} bytes.`);
      }
    }
    const createType = this.#streamOptimized ? 'streamOptimized' : 'monolithicSparse';
    const adapterType = desc.ddb.get('adapterType');
    const hwVersion = desc.ddb.get('virtualHWVersion');
    const virtualSize = h.capacitySectors * SECTOR;
    return {
      format: 'vmdk',
      virtualSize,
      description: `a VMDK ${createType} disk${adapterType ? ` with adapter type ${adapterType}` : ''}, virtual size ${sizeText(virtualSize)}`,
      vmdk: { createType, ...(adapterType === undefined ? {} : { adapterType }), ...(hwVersion === undefined ? {} : { hwVersion }) },
    };
  }
}
