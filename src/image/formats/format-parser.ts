import type { RangeReader } from './range-reader.js';
import type { DiskInfo } from './disk-info.js';

/**
 * One format's streaming parser. It asks the reader for the ranges it needs, throws
 * ImageContentError as soon as something is wrong (aborting the upload early), and
 * judges the whole at `finish`, when the total size is known.
 */
export interface FormatParser {
  start(reader: RangeReader): void;
  finish(totalSize: number, reader: RangeReader): DiskInfo;
}

/** Limits a parser enforces while reading. */
export interface ParseLimits {
  /** [image] max_virtual_size. */
  readonly maxVirtualSize: number;
}
