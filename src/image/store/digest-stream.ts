import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { TooLargeError } from '../../errors.js';
import type { StreamObserver } from './image-store.js';

/**
 * The one pass over an upload: counts bytes, enforces the size cap, computes md5 (Glance's
 * `checksum`) and sha512 (`os_hash_value`), and shows each chunk to the observers before
 * passing it on. An observer's error stops the stream with that error.
 */
export class DigestStream extends Transform {
  readonly #md5: Hash = createHash('md5');
  readonly #sha512: Hash = createHash('sha512');
  readonly #observers: readonly StreamObserver[];
  readonly #maxSize: number;
  #size = 0;

  constructor(observers: readonly StreamObserver[], maxSize: number) {
    super();
    this.#observers = observers;
    this.#maxSize = maxSize;
  }

  get size(): number {
    return this.#size;
  }

  digests(): { md5: string; sha512: string } {
    return { md5: this.#md5.digest('hex'), sha512: this.#sha512.digest('hex') };
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#size += chunk.length;
    if (this.#size > this.#maxSize) {
      callback(new TooLargeError(`Image exceeds the size limit: the upload is larger than ${this.#maxSize} bytes ([image] image_size_cap).`));
      return;
    }
    this.#md5.update(chunk);
    this.#sha512.update(chunk);
    this.#notify((o) => o.update(chunk)).then(
      () => callback(null, chunk),
      (err: unknown) => callback(asError(err)),
    );
  }

  override _flush(callback: TransformCallback): void {
    this.#notify((o) => o.end?.()).then(
      () => callback(),
      (err: unknown) => callback(asError(err)),
    );
  }

  /** Calls every observer in order; awaits only those that return a promise (most are synchronous). */
  async #notify(call: (o: StreamObserver) => void | Promise<void>): Promise<void> {
    for (const o of this.#observers) {
      const r = call(o);
      if (r !== undefined) await r;
    }
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
