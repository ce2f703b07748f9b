import { ImageContentError, safeU64, sizeText, type DiskInfo } from './disk-info.js';
import type { FormatParser, ParseLimits } from './format-parser.js';
import type { RangeReader } from './range-reader.js';

export const QCOW2_MAGIC = 0x514649fb; // "QFI\xfb"
const EXT_END = 0;
const EXT_BACKING_FORMAT = 0xe2792aca;
const EXT_FEATURE_TABLE = 0x6803f857;
const EXT_ENCRYPTION = 0x0537be77;
const EXT_DATA_FILE = 0x44415441;
const EXT_BITMAPS = 0x23852875;
const INCOMPAT_DIRTY = 1n << 0n;
const INCOMPAT_CORRUPT = 1n << 1n;
const INCOMPAT_DATA_FILE = 1n << 2n;
const INCOMPAT_COMPRESSION = 1n << 3n;
const INCOMPAT_EXTL2 = 1n << 4n;
const INCOMPAT_KNOWN = INCOMPAT_DIRTY | INCOMPAT_CORRUPT | INCOMPAT_DATA_FILE | INCOMPAT_COMPRESSION | INCOMPAT_EXTL2;

/**
 * qcow2 (versions 2 and 3), from the header and its extensions in the first cluster, then
 * the L1 table as it streams past: every L2 table it names must be inside the upload.
 * Backing files, external data files and encryption are refused: such an image is not
 * self-contained (or not readable without a key), and a backing file path is the classic
 * way to make a host read its own files into a guest.
 */
export class Qcow2Parser implements FormatParser {
  readonly #limits: ParseLimits;
  #version = 0;
  #clusterSize = 0;
  #virtualSize = 0;
  #needEnd = 0;
  #backingFile: string | undefined;

  constructor(limits: ParseLimits) {
    this.#limits = limits;
  }

  start(reader: RangeReader): void {
    reader.want(0, 104, (b) => this.#onHeader(b, reader));
  }

  #onHeader(b: Buffer, reader: RangeReader): void {
    if (b.readUInt32BE(0) !== QCOW2_MAGIC) throw new ImageContentError('Not a qcow2 image: the QFI magic number is missing.');
    const version = b.readUInt32BE(4);
    if (version !== 2 && version !== 3) throw new ImageContentError(`qcow2 version ${version} is not supported (only 2 and 3 exist).`);
    this.#version = version;
    const backingOffset = safeU64(b.readBigUInt64BE(8), 'qcow2 backing file offset');
    const backingSize = b.readUInt32BE(16);
    const clusterBits = b.readUInt32BE(20);
    if (clusterBits < 9 || clusterBits > 21) throw new ImageContentError(`qcow2 cluster_bits ${clusterBits} is outside 9..21: the header is corrupt.`);
    const cluster = 2 ** clusterBits;
    this.#clusterSize = cluster;
    const size = safeU64(b.readBigUInt64BE(24), 'qcow2 virtual size');
    this.#virtualSize = size;
    if (size > this.#limits.maxVirtualSize) {
      throw new ImageContentError(`The qcow2 image's virtual size is ${sizeText(size)}, over the limit of ${sizeText(this.#limits.maxVirtualSize)} ([image] max_virtual_size).`);
    }
    const crypt = b.readUInt32BE(32);
    if (crypt !== 0) throw new ImageContentError(`The qcow2 image is encrypted (${crypt === 1 ? 'AES' : crypt === 2 ? 'LUKS' : `method ${crypt}`}): hypervisors cannot boot it without its key. Upload it decrypted.`);
    const l1Size = b.readUInt32BE(36);
    const l1Offset = safeU64(b.readBigUInt64BE(40), 'qcow2 L1 table offset');
    const refcountOffset = safeU64(b.readBigUInt64BE(48), 'qcow2 refcount table offset');
    const refcountClusters = b.readUInt32BE(56);
    // Each L2 table maps cluster/8 clusters; the L1 table must cover the whole disk.
    const l2Covers = (cluster / 8) * cluster;
    const l1Needed = Math.ceil(size / l2Covers);
    if (l1Size < l1Needed) throw new ImageContentError(`The qcow2 header claims ${sizeText(size)} but its L1 table of ${l1Size} entries covers only ${sizeText(l1Size * l2Covers)}: the header is lying.`);
    if (l1Size * 8 > 32 * 1024 * 1024) throw new ImageContentError(`The qcow2 L1 table of ${l1Size} entries is implausibly large.`);
    if (l1Offset % cluster !== 0 || refcountOffset % cluster !== 0 || refcountOffset === 0) throw new ImageContentError('The qcow2 L1 or refcount table is not cluster-aligned: the header is corrupt.');
    this.#needEnd = Math.max(refcountOffset + refcountClusters * cluster, l1Offset + l1Size * 8);
    if (backingOffset !== 0) {
      if (backingSize === 0 || backingSize > 1023 || backingOffset + backingSize > cluster) throw new ImageContentError('The qcow2 backing file name lies outside the header cluster: the header is corrupt.');
      reader.want(backingOffset, backingSize, (name) => {
        this.#backingFile = name.toString('utf8');
        throw new ImageContentError(`The qcow2 image has a backing file ("${this.#backingFile}"): it is not self-contained and could read host files. Upload a standalone image (qemu-img convert -O qcow2 flattens it).`);
      });
    }
    if (version === 3) {
      const incompatible = b.readBigUInt64BE(72);
      if ((incompatible & INCOMPAT_DATA_FILE) !== 0n) throw new ImageContentError('The qcow2 image keeps its data in an external data file: its data is not in this upload. Upload a standalone image (qemu-img convert -O qcow2).');
      if ((incompatible & INCOMPAT_CORRUPT) !== 0n) throw new ImageContentError('The qcow2 image is marked corrupt by qemu: repair it with qemu-img check -r all.');
      if ((incompatible & ~INCOMPAT_KNOWN) !== 0n) throw new ImageContentError(`The qcow2 image uses incompatible features unknown to us (0x${incompatible.toString(16)}).`);
      const headerLength = b.readUInt32BE(100);
      if (headerLength < 104 || headerLength > cluster || headerLength % 8 !== 0) throw new ImageContentError(`qcow2 header length ${headerLength} is invalid.`);
      this.#extensions(headerLength, cluster, reader);
    } else {
      this.#extensions(72, cluster, reader);
    }
    if (l1Size > 0) {
      reader.want(l1Offset, l1Size * 8, (l1) => {
        for (let i = 0; i < l1.length; i += 8) {
          const l2 = Number(l1.readBigUInt64BE(i) & 0x00fffffffffffe00n);
          if (l2 === 0) continue;
          if (l2 % cluster !== 0) throw new ImageContentError(`qcow2 L1 entry ${i / 8} points at an unaligned L2 table (byte ${l2}).`);
          this.#needEnd = Math.max(this.#needEnd, l2 + cluster);
        }
      });
    }
  }

  /** Header extensions fill the rest of the first cluster; read them in one ask. */
  #extensions(from: number, cluster: number, reader: RangeReader): void {
    reader.want(from, Math.min(cluster, 64 * 1024) - from, (b) => {
      let p = 0;
      while (p + 8 <= b.length) {
        const type = b.readUInt32BE(p);
        const len = b.readUInt32BE(p + 4);
        if (type === EXT_END) return;
        if (p + 8 + len > b.length) throw new ImageContentError(`qcow2 header extension 0x${type.toString(16)} runs past the header cluster.`);
        if (type === EXT_DATA_FILE) {
          const name = b.subarray(p + 8, p + 8 + len).toString('utf8');
          throw new ImageContentError(`The qcow2 image names an external data file ("${name}"): its data is not in this upload. Upload a standalone image (qemu-img convert -O qcow2).`);
        }
        if (type === EXT_ENCRYPTION) throw new ImageContentError('The qcow2 image carries an encryption header: hypervisors cannot boot it without its key. Upload it decrypted.');
        if (type !== EXT_BACKING_FORMAT && type !== EXT_FEATURE_TABLE && type !== EXT_BITMAPS && this.#version === 2) {
          throw new ImageContentError(`qcow2 v2 header has an unknown extension 0x${type.toString(16)}.`);
        }
        p += 8 + Math.ceil(len / 8) * 8;
      }
    });
  }

  finish(totalSize: number, reader: RangeReader): DiskInfo {
    const missing = reader.firstOutstanding();
    if (this.#version === 0 || missing) {
      throw new ImageContentError(`The qcow2 image is truncated: it ends at byte ${totalSize}, but its ${this.#version === 0 ? 'header' : 'metadata'} continues at byte ${missing?.offset ?? 0}.`);
    }
    if (this.#needEnd > totalSize) {
      throw new ImageContentError(`The qcow2 image is truncated or lying: its tables reach byte ${this.#needEnd}, but the upload is ${totalSize} bytes.`);
    }
    return {
      format: 'qcow2',
      virtualSize: this.#virtualSize,
      description: `a qcow2 (version ${this.#version}) image, virtual size ${sizeText(this.#virtualSize)}`,
      qcow2: { version: this.#version, clusterSize: this.#clusterSize, encrypted: false },
    };
  }
}
