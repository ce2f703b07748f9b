import type { Readable } from 'node:stream';

/**
 * Sees an upload as it streams, chunk by chunk, exactly once: hashing, format inspection
 * (VMDK, qcow2, ...), validation. Throwing (or rejecting) from `update` or `end` aborts the
 * upload: the store removes what it wrote and `put` rejects with that error, so a refused
 * upload never needs a second pass or a temporary copy.
 */
export interface StreamObserver {
  /** One chunk, in order. The chunk is only valid during the call: copy what you keep. */
  update(chunk: Buffer): void | Promise<void>;
  /** After the last chunk, before the data is committed: the last chance to refuse it. */
  end?(): void | Promise<void>;
}

export interface PutOptions {
  /** Run over every chunk, in this order, before the chunk is written. */
  readonly observers?: readonly StreamObserver[];
  /** Largest number of bytes accepted; one more aborts with TooLargeError. */
  readonly maxSize?: number;
  readonly signal?: AbortSignal;
}

export interface PutResult {
  /** Store-specific key of the committed data: what `open` and `delete` take. */
  readonly location: string;
  readonly size: number;
  /** Hex digests, computed while streaming. */
  readonly md5: string;
  readonly sha512: string;
}

/** Byte range of a read, inclusive, as in an HTTP Range header. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/**
 * Where image bits live. `put` streams (never buffers the whole image) and is atomic:
 * either the data is committed under a new location, or nothing of it is left.
 */
export interface ImageStore {
  put(data: Readable, options?: PutOptions): Promise<PutResult>;
  /** Streams stored data; NotFoundError when the location holds nothing. */
  open(location: string, range?: ByteRange): Promise<Readable>;
  /** Removes stored data (and any format variants made from it); succeeds when it is already gone. */
  delete(location: string): Promise<void>;
  /**
   * Optional: a local file holding the data, for tools that need random access (qemu-img
   * converting to another format). Stores without one cannot produce format variants.
   */
  localPath?(location: string): string;
  /**
   * Optional: removes temporary files of uploads that stopped (no write for `olderThanMs`),
   * left by a process that died mid-upload; returns how many it removed.
   */
  removeStaleTemporaries?(olderThanMs: number): Promise<number>;
  /** Optional: the directory where format variants of this store's images are kept. */
  readonly variantsDirectory?: string;
}
