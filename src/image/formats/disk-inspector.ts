import type { StreamObserver } from '../store/image-store.js';
import { ImageContentError, type DetectedFormat, type DiskInfo } from './disk-info.js';
import type { FormatParser, ParseLimits } from './format-parser.js';
import { Iso9660Parser, looksLikeIso, ISO_PVD_OFFSET } from './iso9660.js';
import { OtherFormatParser, sniffOtherFormat } from './other-formats.js';
import { QCOW2_MAGIC, Qcow2Parser } from './qcow2.js';
import { RangeReader } from './range-reader.js';
import { RawParser } from './raw.js';
import { DESCRIPTOR_SIGNATURE, MAX_DESCRIPTOR } from './vmdk-descriptor.js';
import { VmdkDescriptorFileParser } from './vmdk-descriptor-file.js';
import { VMDK_MAGIC, VmdkSparseParser } from './vmdk-sparse.js';

/** Enough of the start to recognise every format (ISO's volume descriptor ends at 34,816). */
const SNIFF_BYTES = Math.max(ISO_PVD_OFFSET + 2048, MAX_DESCRIPTOR + 1);

/**
 * Learns what an upload really is while it streams: buffers the first SNIFF_BYTES (64 KiB),
 * picks the parser for the format found there, replays the prefix to it and feeds it every
 * later chunk. Memory is bounded (the prefix plus what the parser holds); nothing is read twice.
 * Any error, even an unexpected one from malformed data, becomes an ImageContentError.
 */
export class DiskInspector implements StreamObserver {
  readonly #limits: ParseLimits;
  readonly #reader = new RangeReader();
  #prefix: Buffer[] = [];
  #prefixLength = 0;
  #parser: FormatParser | undefined;
  #total = 0;
  #info: DiskInfo | undefined;

  constructor(limits: ParseLimits) {
    this.#limits = limits;
  }

  update(chunk: Buffer): void {
    this.#guard(() => {
      this.#total += chunk.length;
      if (this.#parser) {
        this.#reader.push(chunk);
        return;
      }
      this.#prefix.push(Buffer.from(chunk));
      this.#prefixLength += chunk.length;
      if (this.#prefixLength >= SNIFF_BYTES) this.#decide();
    });
  }

  end(): void {
    this.#guard(() => {
      if (!this.#parser) this.#decide();
      const parser = this.#parser;
      if (!parser) throw new ImageContentError('No format parser was chosen.');
      this.#info = parser.finish(this.#total, this.#reader);
    });
  }

  /** What the upload is; available after `end` succeeded. */
  get info(): DiskInfo | undefined {
    return this.#info;
  }

  #decide(): void {
    const all = Buffer.concat(this.#prefix);
    this.#prefix = [];
    const parser = this.#choose(all);
    this.#parser = parser;
    parser.start(this.#reader);
    this.#reader.push(all);
  }

  #choose(prefix: Buffer): FormatParser {
    if (prefix.length >= 4 && prefix.readUInt32BE(0) === QCOW2_MAGIC) return new Qcow2Parser(this.#limits);
    if (prefix.length >= 4 && prefix.readUInt32LE(0) === VMDK_MAGIC) return new VmdkSparseParser(this.#limits);
    if (prefix.toString('latin1', 0, DESCRIPTOR_SIGNATURE.length) === DESCRIPTOR_SIGNATURE) return new VmdkDescriptorFileParser(() => prefix);
    if (looksLikeIso(prefix)) return new Iso9660Parser(this.#limits);
    const other = sniffOtherFormat(prefix);
    if (other !== undefined) return new OtherFormatParser(other);
    return new RawParser();
  }

  #guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      if (err instanceof ImageContentError) throw err;
      throw new ImageContentError(`The image could not be parsed: ${err instanceof Error ? err.message : String(err)}. Its headers are corrupt.`);
    }
  }
}

/** Inspects a whole buffer (tests, the CLI's local checks). */
export function inspectBuffer(data: Buffer, limits: ParseLimits, chunkSize = 65536): DiskInfo {
  const i = new DiskInspector(limits);
  for (let o = 0; o < data.length; o += chunkSize) i.update(data.subarray(o, o + chunkSize));
  i.end();
  const info = i.info;
  if (!info) throw new ImageContentError('Inspection produced nothing.');
  return info;
}

/** What the first bytes of a file say it is (a cheap guess, e.g. for a client choosing disk_format). */
export function sniffFormat(prefix: Buffer): DetectedFormat | 'vmdk-descriptor' | 'cowd' {
  if (prefix.length >= 4 && prefix.readUInt32BE(0) === QCOW2_MAGIC) return 'qcow2';
  if (prefix.length >= 4 && prefix.readUInt32LE(0) === VMDK_MAGIC) return 'vmdk';
  if (prefix.toString('latin1', 0, DESCRIPTOR_SIGNATURE.length) === DESCRIPTOR_SIGNATURE) return 'vmdk-descriptor';
  if (looksLikeIso(prefix)) return 'iso';
  return sniffOtherFormat(prefix) ?? 'raw';
}

/** Bytes sniffFormat needs to see. */
export const SNIFF_PREFIX_BYTES = ISO_PVD_OFFSET + 2048;
