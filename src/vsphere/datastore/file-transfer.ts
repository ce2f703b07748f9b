import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PolyvisorError } from '../../errors.js';
import type { HttpTransport } from '../soap/http-transport.js';
import { VsphereTransportError } from '../soap/errors.js';

/** Where a file lives: datacenter inventory path, datastore name, path inside the datastore. */
export interface DatastoreLocation {
  readonly datacenter: string;
  readonly datastore: string;
  readonly path: string;
}

export interface TransferOptions {
  readonly signal?: AbortSignal;
  /** Called with bytes transferred so far (and the total when known), about every MiB. */
  readonly onProgress?: (bytes: number, total: number | undefined) => void;
}

export class DatastoreFileNotFoundError extends PolyvisorError {
  constructor(loc: DatastoreLocation) {
    super('vsphere_file_not_found', `[${loc.datastore}] ${loc.path} not found in datacenter ${loc.datacenter}`, { details: { ...loc } });
  }
}

/** `/folder/<path>?dcPath=<dc>&dsName=<ds>`, each path segment escaped. */
export function folderUrlPath(loc: DatastoreLocation): string {
  const path = loc.path.split('/').filter((s) => s !== '').map(encodeURIComponent).join('/');
  return `/folder/${path}?dcPath=${encodeURIComponent(loc.datacenter)}&dsName=${encodeURIComponent(loc.datastore)}`;
}

/** Counts bytes for progress and regroups the upload into chunks of about 1 MiB. */
function regroup(total: number | undefined, onProgress: TransferOptions['onProgress']) {
  return async function* (source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    let bytes = 0;
    let batch: Buffer[] = [];
    let size = 0;
    for await (const chunk of source) {
      batch.push(chunk);
      size += chunk.length;
      if (size >= BATCH) {
        bytes += size;
        yield batch.length === 1 ? chunk : Buffer.concat(batch, size);
        batch = [];
        size = 0;
        onProgress?.(bytes, total);
      }
    }
    if (size > 0) {
      bytes += size;
      yield Buffer.concat(batch, size);
      onProgress?.(bytes, total);
    }
  };
}

const BATCH = 1 << 20;

/**
 * Streams files to and from datastores over the HTTP file interface, with the session
 * cookie, never holding a whole file in memory: data flows through with backpressure.
 */
export class DatastoreFiles {
  constructor(private readonly transport: HttpTransport) {}

  /** Uploads `size` bytes from `source` (a stream, or a local file path whose size is read). */
  async upload(loc: DatastoreLocation, source: Readable | string, options: TransferOptions & { size?: number } = {}): Promise<void> {
    let size = options.size;
    let stream: Readable;
    if (typeof source === 'string') {
      size ??= (await stat(source)).size;
      stream = createReadStream(source, { highWaterMark: 1 << 20 });
    } else {
      stream = source;
    }
    if (size === undefined) throw new PolyvisorError('invalid_input', 'upload from a stream needs its size');
    const { req, response } = this.transport.open({
      method: 'PUT',
      path: folderUrlPath(loc),
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': size },
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    try {
      const [, res] = await Promise.all([pipeline(stream, regroup(size, options.onProgress), req), response]);
      res.resume();
      if (res.statusCode !== 200 && res.statusCode !== 201 && res.statusCode !== 204) {
        throw new VsphereTransportError(`upload of [${loc.datastore}] ${loc.path} failed: HTTP ${res.statusCode ?? 0}`, { retryable: false, sent: true });
      }
    } catch (err) {
      stream.destroy();
      throw err instanceof PolyvisorError ? err : this.transport.transportError(err, 'datastore upload');
    }
  }

  /**
   * Opens a file for reading as a stream (the HTTP response itself: backpressure reaches the
   * server, memory stays constant), with its length when the server says it. Destroying the
   * stream, or the signal, ends the request.
   */
  async open(loc: DatastoreLocation, options: Pick<TransferOptions, 'signal'> = {}): Promise<{ stream: Readable; size: number | undefined }> {
    const { req, response } = this.transport.open({
      method: 'GET',
      path: folderUrlPath(loc),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    req.end();
    let res;
    try {
      res = await response;
    } catch (err) {
      throw this.transport.transportError(err, 'datastore download');
    }
    if (res.statusCode === 404) {
      res.resume();
      throw new DatastoreFileNotFoundError(loc);
    }
    if (res.statusCode !== 200) {
      res.resume();
      throw new VsphereTransportError(`download of [${loc.datastore}] ${loc.path} failed: HTTP ${res.statusCode ?? 0}`, { retryable: false, sent: true });
    }
    const lengthHeader = res.headers['content-length'];
    return { stream: res, size: lengthHeader === undefined ? undefined : Number(lengthHeader) };
  }

  /** Downloads into `dest` (a stream, or a local file path); returns the bytes written. */
  async download(loc: DatastoreLocation, dest: Writable | string, options: TransferOptions = {}): Promise<number> {
    const { stream: res, size: total } = await this.open(loc, options);
    try {
      let bytes = 0;
      const out = typeof dest === 'string' ? createWriteStream(dest, { highWaterMark: 1 << 20 }) : dest;
      // Count with a 'data' listener beside the pipe: TLS delivers 16 KiB records, and a
      // transform stage per record costs more than the write (fs coalesces with writev).
      let reported = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes - reported >= BATCH || bytes === total) {
          reported = bytes;
          options.onProgress?.(bytes, total);
        }
      });
      await pipeline(res, out);
      if (reported !== bytes) options.onProgress?.(bytes, total);
      return bytes;
    } catch (err) {
      throw err instanceof PolyvisorError ? err : this.transport.transportError(err, 'datastore download');
    }
  }
}
